"""Subscribe messages against consents, msg_sec_check verdicts, injected faults, test paths."""

from __future__ import annotations

from typing import Any

import pytest

from tests.standin.support import Standin

SEC = "/wxa/msg_sec_check"
SEND = "/cgi-bin/message/subscribe/send"


def sec_body(content: str, **fields: Any) -> dict[str, Any]:
    return {"content": content, "version": 2, "scene": 2, "openid": "o-owner", **fields}


async def test_send_without_consent_answers_43101_and_delivers_nothing(wx: Standin) -> None:
    answer = await wx.send(await wx.token())
    assert answer == {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
    assert await wx.messages("o-owner") == []


async def test_each_consent_allows_exactly_one_push(wx: Standin) -> None:
    token = await wx.token()
    await wx.consent()
    await wx.consent()
    await wx.consent(template_id="tpl-vote")

    assert (await wx.send(token))["errcode"] == 0
    assert (await wx.send(token))["errcode"] == 0
    assert (await wx.send(token))["errcode"] == 43101
    # The other template's consent is still there, and only for that template.
    assert (await wx.send(token, template_id="tpl-vote"))["errcode"] == 0
    assert (await wx.send(token, template_id="tpl-vote"))["errcode"] == 43101


async def test_consent_reports_what_remains(wx: Standin) -> None:
    for expected in (1, 2):
        r = await wx.client.post(
            "/_standin/consents", json={"openid": "o-owner", "template_id": "tpl-repair"}
        )
        assert r.json() == {"openid": "o-owner", "template_id": "tpl-repair", "remaining": expected}


async def test_messages_are_listed_per_user_oldest_first(wx: Standin) -> None:
    token = await wx.token()
    for openid, thing in (("o-a", "第一条"), ("o-b", "别人的"), ("o-a", "第二条")):
        await wx.consent(openid)
        wx.clock.advance(10)
        answer = await wx.send(token, touser=openid, data={"thing1": {"value": thing}})
        assert answer["errcode"] == 0 and isinstance(answer["msgid"], int)

    mine = await wx.messages("o-a")
    assert [m["data"]["thing1"]["value"] for m in mine] == ["第一条", "第二条"]
    assert mine[0] == {
        "msgid": mine[0]["msgid"],
        "sent_at": int(wx.clock.now) - 20,
        "touser": "o-a",
        "template_id": "tpl-repair",
        "page": "pages/repairs/detail?id=1",
        "data": {"thing1": {"value": "第一条"}},
        "miniprogram_state": "formal",
        "lang": "zh_CN",
    }
    assert len(await wx.messages()) == 3


async def test_optional_send_fields_take_wechats_defaults(wx: Standin) -> None:
    await wx.consent()
    body = {"touser": "o-owner", "template_id": "tpl-repair", "data": {"thing1": {"value": "x"}}}
    assert (await wx.call(SEND, await wx.token(), body))["errcode"] == 0
    [message] = await wx.messages("o-owner")
    assert message["page"] is None
    assert (message["miniprogram_state"], message["lang"]) == ("formal", "zh_CN")


@pytest.mark.parametrize(
    ("overrides", "errcode", "errmsg"),
    [
        ({"touser": ""}, 40003, "invalid openid"),
        ({"template_id": None}, 40037, "invalid template_id"),
        ({"miniprogram_state": "beta"}, 47003, "argument invalid! miniprogram_state invalid"),
        ({"lang": "fr_FR"}, 47003, "argument invalid! lang invalid"),
        ({"data": {}}, 47003, "argument invalid! data is empty"),
        ({"data": {"thing1": {"value": "一二三四五六七八九十一二三四五六七八九十一"}}}, 47003,
         "argument invalid! data.thing1.value invalid"),
        ({"data": {"phrase3": {"value": "维修已经完成"}}}, 47003,
         "argument invalid! data.phrase3.value invalid"),
        ({"data": {"thing1": {"value": ""}}}, 47003,
         "argument invalid! data.thing1.value is emtpy"),
        ({"data": {"thing1": "no value wrapper"}}, 47003,
         "argument invalid! data.thing1.value is emtpy"),
        ({"page": 5}, 47001, "data format error hint: page must be a string"),
    ],
)
async def test_bad_messages_are_refused_without_using_the_consent(
    wx: Standin, overrides: dict[str, Any], errcode: int, errmsg: str
) -> None:
    token = await wx.token()
    await wx.consent()
    assert await wx.send(token, **overrides) == {"errcode": errcode, "errmsg": errmsg}
    assert (await wx.send(token))["errcode"] == 0


async def test_configured_template_ids_are_the_only_ones_known(make_standin: Any) -> None:
    wx: Standin = make_standin(template_ids=["tpl-repair"])
    token = await wx.token()
    await wx.consent(template_id="tpl-unknown")
    assert (await wx.send(token, template_id="tpl-unknown"))["errcode"] == 40037


async def test_msg_sec_check_follows_the_markers(wx: Standin) -> None:
    token = await wx.token()
    passed = await wx.call(SEC, token, sec_body("楼道灯坏了，请尽快维修"))
    review = await wx.call(SEC, token, sec_body("有点 [REVIEW] 的内容"))
    risky = await wx.call(SEC, token, sec_body("待审内容 和 违禁内容 都有"))

    assert passed["errcode"] == 0 and passed["result"] == {"suggest": "pass", "label": 100}
    assert passed["detail"][1] == {"strategy": "keyword", "errcode": 0}
    assert review["result"] == {"suggest": "review", "label": 21000}
    assert risky["result"] == {"suggest": "risky", "label": 20006}
    assert risky["detail"][0]["strategy"] == "content_model"
    assert risky["detail"][1]["keyword"] == "违禁内容"
    assert isinstance(risky["trace_id"], str)


async def test_msg_sec_check_looks_at_title_and_nickname_too(wx: Standin) -> None:
    answer = await wx.call(SEC, await wx.token(), sec_body("正常", title="[risky] 标题"))
    assert answer["result"]["suggest"] == "risky"


async def test_msg_sec_check_markers_are_settings(make_standin: Any) -> None:
    wx: Standin = make_standin(risky_markers=["炸弹"], review_markers=["广告"])
    token = await wx.token()
    assert (await wx.call(SEC, token, sec_body("[risky]")))["result"]["suggest"] == "pass"
    assert (await wx.call(SEC, token, sec_body("卖广告")))["result"]["suggest"] == "review"
    assert (await wx.call(SEC, token, sec_body("炸弹")))["result"]["suggest"] == "risky"


async def test_msg_sec_check_version_1_answers_87014_for_risky_text(wx: Standin) -> None:
    token = await wx.token()
    assert await wx.call(SEC, token, {"content": "[risky]"}) == {
        "errcode": 87014, "errmsg": "risky content"
    }
    assert await wx.call(SEC, token, {"content": "[review]"}) == {"errcode": 0, "errmsg": "ok"}


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        (sec_body("x", openid=""), 40003),
        (sec_body("x", scene=7), 47001),
        (sec_body("x", version=3), 47001),
        ({"version": 2, "scene": 2, "openid": "o"}, 47001),
        (sec_body("长" * 2501), 47001),
    ],
)
async def test_msg_sec_check_refuses_bad_requests(
    wx: Standin, body: dict[str, Any], errcode: int
) -> None:
    assert (await wx.call(SEC, await wx.token(), body))["errcode"] == errcode


async def test_errcode_fault_fails_the_next_calls_then_clears(wx: Standin) -> None:
    code = await wx.login_code()
    r = await wx.fault(path="/sns/jscode2session", errcode=-1, times=2)
    assert r.status_code == 200 and r.json() == {"path": "/sns/jscode2session", "pending": 2}

    assert await wx.code2session(code) == {"errcode": -1, "errmsg": "system error"}
    assert (await wx.code2session(code))["errcode"] == -1
    # The failed calls did not use the code up.
    assert (await wx.code2session(code))["openid"] == "o-owner"


async def test_http_status_fault_answers_that_status_without_consuming_consent(
    wx: Standin,
) -> None:
    token = await wx.token()
    await wx.consent()
    await wx.fault(path=SEND, http_status=503)

    r = await wx.client.post(SEND, params={"access_token": token}, json={})
    assert r.status_code == 503
    assert (await wx.send(token))["errcode"] == 0
    assert len(await wx.messages("o-owner")) == 1


async def test_faults_queue_per_path_and_in_order(wx: Standin) -> None:
    await wx.fault(path="cgi-bin/stable_token?x=1", errcode=45011)
    await wx.fault(path="/cgi-bin/stable_token", http_status=500)
    await wx.fault(path=SEC, errcode=-1)

    assert (await wx.stable_token())["errcode"] == 45011
    r = await wx.client.post("/cgi-bin/stable_token", json={})
    assert r.status_code == 500
    token = await wx.token()
    assert (await wx.call(SEC, token, sec_body("x")))["errcode"] == -1
    assert (await wx.call(SEC, token, sec_body("x")))["errcode"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"path": "/cgi-bin/token", "errcode": -1},
        {"path": SEND},
        {"path": SEND, "errcode": -1, "http_status": 503},
        {"path": SEND, "errcode": 0},
        {"path": SEND, "http_status": 200},
        {"path": SEND, "errcode": -1, "times": 0},
    ],
)
async def test_bad_fault_requests_are_refused_in_the_error_shape(
    wx: Standin, body: dict[str, Any]
) -> None:
    r = await wx.fault(**body)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    assert r.json()["error"]["message"] == "请求参数不正确"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_standin/login-codes", {}),
        ("/_standin/login-codes", {"openid": ""}),
        ("/_standin/phone-codes", {"phone": "call me"}),
        ("/_standin/consents", {"openid": "o"}),
        ("/_standin/clock", {"advance_seconds": -5}),
    ],
)
async def test_bad_test_path_requests_are_422(wx: Standin, path: str, body: Any) -> None:
    r = await wx.client.post(path, json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


async def test_reset_forgets_everything(wx: Standin) -> None:
    token = await wx.token()
    code = await wx.login_code()
    await wx.consent()
    await wx.consent()
    await wx.send(token)
    await wx.fault(path=SEC, errcode=-1)

    r = await wx.client.post("/_standin/reset")
    assert r.status_code == 204

    assert await wx.messages() == []
    assert (await wx.code2session(code))["errcode"] == 40029
    assert (await wx.send(token))["errcode"] == 40001
    fresh = await wx.token()
    assert (await wx.send(fresh))["errcode"] == 43101
    assert (await wx.call(SEC, fresh, sec_body("x")))["errcode"] == 0


async def test_unknown_paths_and_health(wx: Standin) -> None:
    r = await wx.client.get("/cgi-bin/nothing")
    assert r.status_code == 404 and r.json()["error"]["message"] == "接口不存在"
    assert (await wx.client.get("/healthz")).json() == {"status": "ok"}
