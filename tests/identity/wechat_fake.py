"""WeChat for identity's tests, driven only through the stand-in's documented HTTP contract
(api.md: `/_standin/login-codes`, `/_standin/phone-codes`, `/_standin/faults`, and WeChat's own
paths with WeChat's errcodes).

The real stand-in (`wechat_standin.app.create_app`) is mounted in-process via ASGITransport when
it is in the tree; until then `_Double` plays it behind httpx.MockTransport.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx

from services.identity.wechat import WeChatClient

BASE = "http://wechat.test"


class _Double:
    """The stand-in's behaviour as api.md fixes it: login codes single use and valid 5 minutes
    (reused → 40163, unknown → 40029), phone codes, and injected faults."""

    def __init__(self) -> None:
        self.codes: dict[str, dict[str, Any]] = {}
        self.phone_codes: dict[str, str] = {}
        self.faults: dict[str, list[dict[str, Any]]] = {}
        self.seq = itertools.count(1)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        if path == "/_standin/login-codes":
            code = f"code-{next(self.seq)}"
            self.codes[code] = {"openid": body["openid"], "unionid": body.get("unionid"), "at": time.time()}
            return httpx.Response(200, json={"code": code})
        if path == "/_standin/phone-codes":
            code = f"phone-{next(self.seq)}"
            self.phone_codes[code] = body["phone"]
            return httpx.Response(200, json={"code": code})
        if path == "/_standin/faults":
            fault = {"errcode": body.get("errcode"), "http_status": body.get("http_status")}
            self.faults.setdefault(body["path"], []).extend([fault] * int(body.get("times", 1)))
            return httpx.Response(200, json={"ok": True})
        pending = self.faults.get(path)
        if pending:
            fault = pending.pop(0)
            if fault["http_status"]:
                return httpx.Response(fault["http_status"], text="fault")
            return httpx.Response(200, json={"errcode": fault["errcode"], "errmsg": "fault"})
        if path == "/sns/jscode2session":
            entry = self.codes.get(request.url.params.get("js_code", ""))
            if entry is None or time.time() - entry["at"] > 300:
                return httpx.Response(200, json={"errcode": 40029, "errmsg": "invalid code"})
            if entry.get("used"):
                return httpx.Response(200, json={"errcode": 40163, "errmsg": "code been used"})
            entry["used"] = True
            answer = {"openid": entry["openid"], "session_key": "SECRET-SESSION-KEY=="}
            if entry["unionid"]:
                answer["unionid"] = entry["unionid"]
            return httpx.Response(200, json=answer)
        if path == "/cgi-bin/stable_token":
            return httpx.Response(200, json={"access_token": "AT", "expires_in": 7200})
        if path == "/wxa/business/getuserphonenumber":
            phone = self.phone_codes.pop(body.get("code", ""), None)
            if phone is None:
                return httpx.Response(200, json={"errcode": 40029, "errmsg": "invalid code"})
            info = {"phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86"}
            return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "phone_info": info})
        return httpx.Response(404, json={"errcode": 404, "errmsg": "unknown path"})


def _transport() -> httpx.AsyncBaseTransport:
    """The real stand-in in-process when it is in the tree, else the double."""
    try:
        from wechat_standin.app import create_app  # type: ignore[import-not-found]
    except ImportError:
        return httpx.MockTransport(_Double())
    return httpx.ASGITransport(app=create_app())


class WeChatForTests:
    """What a test does at WeChat: make login and phone codes, inject faults, count calls."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.calls: list[str] = []
        # Every session_key WeChat handed identity, to check it went nowhere.
        self.session_keys: list[str] = []

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await self.http.post(BASE + path, json=body)
        r.raise_for_status()
        return r.json()

    async def login_code(self, openid: str, unionid: str | None = None) -> str:
        body = {"openid": openid, **({"unionid": unionid} if unionid else {})}
        return (await self._post("/_standin/login-codes", body))["code"]

    async def phone_code(self, phone: str) -> str:
        return (await self._post("/_standin/phone-codes", {"phone": phone}))["code"]

    async def fail(self, path: str, times: int, *, errcode: int | None = None, http_status: int | None = None) -> None:
        fault: dict[str, Any] = {"path": path, "times": times}
        fault.update({"errcode": errcode} if errcode is not None else {"http_status": http_status})
        await self._post("/_standin/faults", fault)


def install(app: Any) -> WeChatForTests:
    """Points the app's WeChat client at the stand-in (no backoff delay in tests)."""
    transport = _transport()
    controller = WeChatForTests(httpx.AsyncClient(transport=transport))

    async def count(request: httpx.Request) -> None:
        controller.calls.append(request.url.path)

    async def watch(response: httpx.Response) -> None:
        if response.request.url.path == "/sns/jscode2session" and response.status_code == 200:
            await response.aread()
            key = response.json().get("session_key")
            if key:
                controller.session_keys.append(key)

    settings = app.state.settings
    app.state.wechat = WeChatClient(
        httpx.AsyncClient(transport=transport, event_hooks={"request": [count], "response": [watch]}),
        BASE,
        settings.wechat_appid,
        settings.wechat_secret,
        retries=settings.wechat_retries,
        backoff_seconds=0.0,
    )
    return controller
