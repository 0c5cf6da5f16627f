"""The WeChat client on its own: errcode mapping, retries with growing pauses, then 503."""

from __future__ import annotations

import httpx
import pytest

from services.identity.errors import WeChatCodeInvalid, WeChatRiskyUser, WeChatUnavailable
from services.identity.wechat import WeChatClient


def client(answers: list[httpx.Response | Exception], sleeps: list[float]) -> WeChatClient:
    def handle(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return WeChatClient(http, "http://wx", "app", "secret", retries=3, backoff_seconds=0.2, sleep=sleep)


def ok(**body: object) -> httpx.Response:
    return httpx.Response(200, json=body)


async def test_busy_and_rate_limited_are_retried_with_growing_pauses():
    sleeps: list[float] = []
    wx = client([ok(errcode=-1), ok(errcode=45011), httpx.Response(503), ok(openid="o", session_key="k")], sleeps)
    identity = await wx.code2session("c")
    assert identity.openid == "o" and identity.unionid is None
    assert sleeps == [0.2, 0.4, 0.8]


async def test_still_busy_after_the_retries_is_503():
    sleeps: list[float] = []
    wx = client([ok(errcode=-1)] * 4, sleeps)
    with pytest.raises(WeChatUnavailable) as info:
        await wx.code2session("c")
    assert info.value.status_code == 503 and len(sleeps) == 3


async def test_a_network_failure_is_retried_too():
    sleeps: list[float] = []
    wx = client([httpx.ConnectError("down"), ok(openid="o", unionid="u", session_key="k")], sleeps)
    assert (await wx.code2session("c")).unionid == "u"


@pytest.mark.parametrize(
    "errcode, error",
    [(40029, WeChatCodeInvalid), (40163, WeChatCodeInvalid), (40226, WeChatRiskyUser), (40013, WeChatUnavailable)],
)
async def test_errcodes_map_to_clear_errors_without_retrying(errcode, error):
    sleeps: list[float] = []
    wx = client([ok(errcode=errcode, errmsg="x")], sleeps)
    with pytest.raises(error) as info:
        await wx.code2session("c")
    assert sleeps == [] and info.value.message


async def test_an_expired_access_token_is_refreshed_once_for_the_phone_number():
    sleeps: list[float] = []
    phone = {"errcode": 0, "phone_info": {"purePhoneNumber": "13512345678"}}
    wx = client(
        [ok(access_token="a1", expires_in=7200), ok(errcode=40001), ok(access_token="a2", expires_in=7200), ok(**phone)],
        sleeps,
    )
    assert await wx.phone_number("p") == "13512345678"
