"""A stand-in for the public API behind the console (httpx.MockTransport): staff login,
rotating refresh tokens with reuse detection, /me, one community's staff. It records every
call so tests can tell what the console asked."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

CID = "c-1"
PASSWORD = "right-pass-1"


def _error(status: int, code: str, message: str, details: Any = None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message, "details": details}})


@dataclass
class FakeApi:
    role: str | None = "manager"
    calls: list[tuple[str, str]] = field(default_factory=list)
    # refresh token -> (family, state: live | used | revoked)
    refresh: dict[str, tuple[str, str]] = field(default_factory=dict)
    access: dict[str, str] = field(default_factory=dict)  # access token -> family
    expired_access: set[str] = field(default_factory=set)
    created_staff: list[dict[str, Any]] = field(default_factory=list)
    password: str = PASSWORD
    _n: itertools.count[int] = field(default_factory=itertools.count)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def _pair(self, family: str) -> dict[str, Any]:
        n = next(self._n)
        # Long and distinctive, so a test can search a page for them without chance hits.
        access, refresh = f"fake-access-token-{n:04d}", f"fake-refresh-token-{n:04d}"
        self.access[access] = family
        self.refresh[refresh] = (family, "live")
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": 900,
                "account": {"id": "acct-1", "name": "张经理", "platform_admin": False}}

    def family_alive(self, family: str) -> bool:
        return any(f == family and state == "live" for f, state in self.refresh.values())

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        self.calls.append((request.method, path))
        if path == "/auth/staff-login":
            body = json.loads(request.content)
            if body["password"] != self.password:
                return _error(401, "invalid_credentials", "用户名或密码错误")
            return httpx.Response(200, json=self._pair(f"fam{next(self._n)}"))
        if path == "/auth/refresh":
            token = json.loads(request.content)["refresh_token"]
            family, state = self.refresh.get(token, ("", "missing"))
            if state == "used":  # presented twice: the whole family is revoked
                for t, (f, _) in list(self.refresh.items()):
                    if f == family:
                        self.refresh[t] = (f, "revoked")
                return _error(401, "invalid_refresh_token", "登录已失效，请重新登录")
            if state != "live":
                return _error(401, "invalid_refresh_token", "登录已失效，请重新登录")
            self.refresh[token] = (family, "used")
            return httpx.Response(200, json=self._pair(family))
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.access or bearer in self.expired_access:
            return _error(401, "token_expired", "登录已过期")
        if path == "/me":
            staff = [{"community_id": CID, "role": self.role, "department": None}] if self.role else []
            return httpx.Response(200, json={"account": {"id": "acct-1"}, "display_name": "张经理",
                                             "roles": {"platform_admin": False, "staff": staff, "residents": []},
                                             "bindings": []})
        if path == f"/communities/{CID}":
            return httpx.Response(200, json={"id": CID, "name": "阳光花园", "created_at": "2026-01-01T00:00:00Z"})
        if path == f"/communities/{CID}/staff" and request.method == "GET":
            return httpx.Response(200, json={"items": [], "next_cursor": None})
        if path == f"/communities/{CID}/staff" and request.method == "POST":
            body = json.loads(request.content)
            if len(body.get("phone", "")) != 11:
                return _error(422, "validation_error", "请求参数不正确：phone手机号须为 11 位数字",
                              [{"field": "phone", "type": "value_error", "message": "手机号须为 11 位数字"}])
            self.created_staff.append(body)
            return httpx.Response(201, json={**body, "id": "s-1", "community_id": CID, "account_id": "acct-2",
                                             "created_at": "2026-01-01T00:00:00Z", "initial_password": None})
        if path == "/me/password" and request.method == "POST":
            body = json.loads(request.content)
            if body["current_password"] != self.password:
                return _error(400, "wrong_password", "当前密码不正确")
            if len(body["new_password"]) < 8:
                return _error(422, "validation_error", "请求参数不正确",
                              [{"field": "new_password", "type": "string_too_short", "message": "至少 8 个字符"}])
            self.password = body["new_password"]
            for t, (f, _) in list(self.refresh.items()):  # every session of the account ends
                self.refresh[t] = (f, "revoked")
            return httpx.Response(204)
        if path == f"/communities/{CID}/staff/s-2/password-reset" and request.method == "POST":
            return httpx.Response(200, json={"password": "generated-pass-xyz"})
        if path == f"/communities/{CID}/staff/s-3/password-reset" and request.method == "POST":
            return _error(403, "password_reset_forbidden", "该员工还在您不管理的小区任职或是平台管理员，无法重置其密码")
        return _error(404, "not_found", "资源不存在")
