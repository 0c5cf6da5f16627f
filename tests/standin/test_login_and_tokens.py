"""code2Session, stable access tokens and phone numbers, as identity and notices will call them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.standin.support import Standin

PHONE = "/wxa/business/getuserphonenumber"


async def test_login_code_gives_the_users_openid_and_a_session_key(wx: Standin) -> None:
    with_union = await wx.code2session(await wx.login_code("o-alice", unionid="u-alice"))
    without = await wx.code2session(await wx.login_code("o-bob"))

    assert with_union["openid"] == "o-alice" and with_union["unionid"] == "u-alice"
    assert len(with_union["session_key"]) == 24
    assert without["openid"] == "o-bob"
    assert "unionid" not in without and "errcode" not in without


async def test_login_code_works_once_then_answers_40163(wx: Standin) -> None:
    code = await wx.login_code()
    assert (await wx.code2session(code))["openid"] == "o-owner"
    assert await wx.code2session(code) == {"errcode": 40163, "errmsg": "code been used"}


async def test_unknown_login_code_answers_40029(wx: Standin) -> None:
    assert (await wx.code2session("not-a-code"))["errcode"] == 40029


async def test_login_code_lives_five_minutes(wx: Standin) -> None:
    early, late = await wx.login_code(), await wx.login_code()
    wx.clock.advance(299)
    assert (await wx.code2session(early))["openid"] == "o-owner"
    wx.clock.advance(2)
    assert (await wx.code2session(late))["errcode"] == 40029


async def test_clock_endpoint_moves_time_for_tests_over_http(wx: Standin) -> None:
    code = await wx.login_code()
    r = await wx.client.post("/_standin/clock", json={"advance_seconds": 301})
    assert r.status_code == 200 and r.json()["now"] == wx.clock.now + 301
    assert (await wx.code2session(code))["errcode"] == 40029


@pytest.mark.parametrize(
    ("params", "errcode"),
    [
        ({"appid": ""}, 41002),
        ({"secret": ""}, 41004),
        ({"js_code": ""}, 41008),
        ({"grant_type": "client_credential"}, 40002),
    ],
)
async def test_code2session_refuses_incomplete_requests(
    wx: Standin, params: dict[str, str], errcode: int
) -> None:
    code = await wx.login_code()
    assert (await wx.code2session(code, **params))["errcode"] == errcode
    # A refused exchange leaves the code usable.
    assert (await wx.code2session(code))["openid"] == "o-owner"


async def test_configured_app_credentials_are_enforced(make_standin: Any) -> None:
    wx: Standin = make_standin(appid="wx-app", secret="s3cret")
    code = await wx.login_code()

    assert (await wx.code2session(code, appid="wx-other"))["errcode"] == 40013
    assert (await wx.code2session(code, secret="wrong"))["errcode"] == 40125
    assert (await wx.stable_token(appid="wx-other"))["errcode"] == 40013
    assert (await wx.stable_token(secret="wrong"))["errcode"] == 40125
    assert (await wx.code2session(code))["openid"] == "o-owner"
    assert "access_token" in await wx.stable_token()


async def test_stable_token_is_stable_until_it_expires(wx: Standin) -> None:
    first = await wx.stable_token()
    assert first["expires_in"] == 7200
    wx.clock.advance(1000)
    again = await wx.stable_token()
    assert again == {"access_token": first["access_token"], "expires_in": 6200}

    wx.clock.advance(6200)
    assert (await wx.call(PHONE, first["access_token"], {"code": "x"}))["errcode"] == 42001
    renewed = await wx.stable_token()
    assert renewed["access_token"] != first["access_token"] and renewed["expires_in"] == 7200


async def test_force_refresh_retires_the_previous_token(wx: Standin) -> None:
    old = await wx.token()
    new = (await wx.stable_token(force_refresh=True))["access_token"]
    assert new != old
    assert (await wx.call(PHONE, old, {"code": "x"}))["errcode"] == 40001
    assert (await wx.call(PHONE, new, {"code": "x"}))["errcode"] == 40029


async def test_token_lifetime_is_a_setting(make_standin: Any) -> None:
    wx: Standin = make_standin(access_token_ttl_seconds=60)
    token = await wx.token()
    wx.clock.advance(60)
    assert (await wx.call(PHONE, token, {"code": "x"}))["errcode"] == 42001


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"grant_type": "authorization_code"}, 40002),
        ({"appid": None}, 41002),
        ({"secret": None}, 41004),
        ({"force_refresh": "yes"}, 47001),
    ],
)
async def test_stable_token_refuses_bad_requests(
    wx: Standin, body: dict[str, Any], errcode: int
) -> None:
    assert (await wx.stable_token(**body))["errcode"] == errcode


async def test_stable_token_needs_a_json_object(wx: Standin) -> None:
    for content in (b"not json", b"[1, 2]"):
        r = await wx.client.post("/cgi-bin/stable_token", content=content)
        assert r.status_code == 200 and r.json()["errcode"] == 47001


@pytest.mark.parametrize(
    "path",
    [PHONE, "/cgi-bin/message/subscribe/send", "/wxa/msg_sec_check"],
)
async def test_access_token_is_required_and_checked(wx: Standin, path: str) -> None:
    assert (await wx.call(path, None, {}))["errcode"] == 41001
    assert (await wx.call(path, "forged", {}))["errcode"] == 40001


async def test_phone_code_gives_the_phone_once(wx: Standin) -> None:
    r = await wx.client.post("/_standin/phone-codes", json={"phone": "+8613800138000"})
    code = r.json()["code"]
    token = await wx.token()

    answer = await wx.call(PHONE, token, {"code": code})
    assert answer == {
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": "13800138000",
            "purePhoneNumber": "13800138000",
            "countryCode": "86",
            "watermark": {"timestamp": int(wx.clock.now), "appid": "wx-app"},
        },
    }
    assert (await wx.call(PHONE, token, {"code": code}))["errcode"] == 40163


async def test_foreign_phone_keeps_its_country_code(wx: Standin) -> None:
    r = await wx.client.post(
        "/_standin/phone-codes", json={"phone": "91234567", "country_code": "852"}
    )
    info = (await wx.call(PHONE, await wx.token(), {"code": r.json()["code"]}))["phone_info"]
    assert info["phoneNumber"] == "+85291234567"
    assert info["purePhoneNumber"] == "91234567" and info["countryCode"] == "852"


async def test_phone_code_errors(wx: Standin) -> None:
    token = await wx.token()
    r = await wx.client.post("/_standin/phone-codes", json={"phone": "13800138000"})
    wx.clock.advance(301)
    assert (await wx.call(PHONE, token, {"code": r.json()["code"]}))["errcode"] == 40029
    assert (await wx.call(PHONE, token, {"code": "unknown"}))["errcode"] == 40029
    assert (await wx.call(PHONE, token, {}))["errcode"] == 41008
    # A login code is not a phone code.
    assert (await wx.call(PHONE, token, {"code": await wx.login_code()}))["errcode"] == 40029
