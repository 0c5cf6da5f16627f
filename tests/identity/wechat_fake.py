"""A stand-in for WeChat behind httpx.MockTransport, following the contract api.md fixes for
`wechat_standin/` (login codes single use, 40163 when reused, 40029 when unknown; faults).
Used until the real stand-in is merged; then `install` can mount it via ASGITransport."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.identity.wechat import WeChatClient


@dataclass
class FakeWeChat:
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    phone_codes: dict[str, str] = field(default_factory=dict)
    faults: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    _seq: Any = field(default_factory=lambda: itertools.count(1))

    def login_code(self, openid: str, unionid: str | None = None) -> str:
        code = f"code-{next(self._seq)}"
        self.codes[code] = {"openid": openid, "unionid": unionid, "used": False}
        return code

    def phone_code(self, phone: str) -> str:
        code = f"phone-{next(self._seq)}"
        self.phone_codes[code] = phone
        return code

    def fail(self, path: str, times: int, *, errcode: int | None = None, http_status: int | None = None) -> None:
        self.faults.setdefault(path, []).extend([{"errcode": errcode, "http_status": http_status}] * times)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append(path)
        pending = self.faults.get(path)
        if pending:
            fault = pending.pop(0)
            if fault["http_status"]:
                return httpx.Response(fault["http_status"], text="busy")
            return httpx.Response(200, json={"errcode": fault["errcode"], "errmsg": "fault"})
        if path == "/sns/jscode2session":
            entry = self.codes.get(request.url.params.get("js_code", ""))
            if entry is None:
                return httpx.Response(200, json={"errcode": 40029, "errmsg": "invalid code"})
            if entry["used"]:
                return httpx.Response(200, json={"errcode": 40163, "errmsg": "code been used"})
            entry["used"] = True
            body = {"openid": entry["openid"], "session_key": "SECRET-SESSION-KEY=="}
            if entry["unionid"]:
                body["unionid"] = entry["unionid"]
            return httpx.Response(200, json=body)
        if path == "/cgi-bin/stable_token":
            return httpx.Response(200, json={"access_token": "AT", "expires_in": 7200})
        if path == "/wxa/business/getuserphonenumber":
            code = json.loads(request.content)["code"]
            phone = self.phone_codes.pop(code, None)
            if phone is None:
                return httpx.Response(200, json={"errcode": 40029, "errmsg": "invalid code"})
            return httpx.Response(
                200,
                json={"errcode": 0, "phone_info": {"phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86"}},
            )
        return httpx.Response(404)


def install(app: Any, fake: FakeWeChat | None = None) -> FakeWeChat:
    """Points the app's WeChat client at the fake (no backoff delay in tests)."""
    fake = fake or FakeWeChat()
    settings = app.state.settings
    app.state.wechat = WeChatClient(
        httpx.AsyncClient(transport=httpx.MockTransport(fake.handle)),
        "http://wechat.test",
        settings.wechat_appid,
        settings.wechat_secret,
        retries=settings.wechat_retries,
        backoff_seconds=0.0,
    )
    return fake
