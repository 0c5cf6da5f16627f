"""The stand-in as tests drive it: a clock the test moves by hand, and a client with one
method per WeChat call the services make."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class FakeClock:
    def __init__(self, now: float = 1_764_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Standin:
    client: httpx.AsyncClient
    clock: FakeClock

    async def login_code(self, openid: str = "o-owner", unionid: str | None = None) -> str:
        body: dict[str, Any] = {"openid": openid}
        if unionid:
            body["unionid"] = unionid
        r = await self.client.post("/_standin/login-codes", json=body)
        assert r.status_code == 200, r.text
        return str(r.json()["code"])

    async def code2session(self, code: str, **params: str) -> dict[str, Any]:
        query = {"appid": "wx-app", "secret": "s3cret", "js_code": code,
                 "grant_type": "authorization_code", **params}
        r = await self.client.get("/sns/jscode2session", params=query)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def stable_token(self, force_refresh: bool = False, **fields: Any) -> dict[str, Any]:
        body = {"grant_type": "client_credential", "appid": "wx-app", "secret": "s3cret",
                "force_refresh": force_refresh, **fields}
        r = await self.client.post("/cgi-bin/stable_token", json=body)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def token(self) -> str:
        return str((await self.stable_token())["access_token"])

    async def call(self, path: str, token: str | None, body: Any) -> dict[str, Any]:
        params = {"access_token": token} if token is not None else {}
        r = await self.client.post(path, params=params, json=body)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def consent(self, openid: str = "o-owner", template_id: str = "tpl-repair") -> None:
        r = await self.client.post(
            "/_standin/consents", json={"openid": openid, "template_id": template_id}
        )
        assert r.status_code == 200, r.text

    async def send(self, token: str, **overrides: Any) -> dict[str, Any]:
        body = {
            "touser": "o-owner",
            "template_id": "tpl-repair",
            "page": "pages/repairs/detail?id=1",
            "data": {"thing1": {"value": "厨房水管漏水"}, "phrase2": {"value": "处理中"}},
            "miniprogram_state": "formal",
            "lang": "zh_CN",
            **overrides,
        }
        return await self.call("/cgi-bin/message/subscribe/send", token, body)

    async def messages(self, touser: str | None = None) -> list[dict[str, Any]]:
        params = {"touser": touser} if touser else {}
        r = await self.client.get("/_standin/messages", params=params)
        assert r.status_code == 200, r.text
        return list(r.json())

    async def fault(self, **body: Any) -> httpx.Response:
        return await self.client.post("/_standin/faults", json=body)
