"""The WeChat client: the access-token cache and timeouts (services/notices/wechat.py)."""

from __future__ import annotations

import asyncio

import httpx

from services.notices.wechat import WeChatClient


class TokenCounter:
    """A WeChat that counts stable_token calls (external HTTP: MockTransport is fair)."""

    def __init__(self, expires_in: int = 7200) -> None:
        self.calls = 0
        self.expires_in = expires_in
        self.revoked: set[str] = set()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            self.calls += 1
            await asyncio.sleep(0.01)  # long enough for concurrent callers to pile up
            return httpx.Response(
                200, json={"access_token": f"t{self.calls}", "expires_in": self.expires_in}
            )
        if request.url.params["access_token"] in self.revoked:
            return httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid credential"})
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})


async def test_access_token_is_cached_refreshed_before_expiry_by_one_refresher():
    counter = TokenCounter(expires_in=7200)
    now = [1000.0]
    client = WeChatClient(
        httpx.MockTransport(counter.handle),
        base_url="http://wechat.test",
        appid="app",
        secret="secret",
        token_margin_seconds=300,
        monotonic=lambda: now[0],
    )
    tokens = await asyncio.gather(*(client.access_token() for _ in range(20)))
    assert set(tokens) == {"t1"} and counter.calls == 1
    now[0] += 7200 - 301  # still fresh
    assert await client.access_token() == "t1"
    now[0] += 2  # within the margin before expiry: refreshed ahead of time
    tokens = await asyncio.gather(*(client.access_token() for _ in range(20)))
    assert set(tokens) == {"t2"} and counter.calls == 2
    assert (await client.send_subscribe(openid="o", template_id="t", page="/p", data={})).ok
    # WeChat revoked the cached token early: fetched again once, and the send goes through.
    counter.revoked.add("t2")
    assert (await client.send_subscribe(openid="o", template_id="t", page="/p", data={})).ok
    assert counter.calls == 3
    await client.aclose()


async def test_a_timeout_is_a_retryable_failure_not_an_exception():
    def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 7200})
        raise httpx.ReadTimeout("WeChat did not answer", request=request)

    client = WeChatClient(
        httpx.MockTransport(slow), base_url="http://wechat.test", appid="a", secret="s"
    )
    result = await client.send_subscribe(openid="o", template_id="t", page="/p", data={})
    assert not result.ok and result.retryable and result.errcode is None
    await client.aclose()
