"""The console's one client of the public API (through the gateway, with the staff member's
own tokens): it renews the access token with the refresh token when it runs out, and turns
the API's error shape into `ApiError` so pages can show the Chinese message by its field."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from console.sessions import Session

log = logging.getLogger("console.api")

API = "/api/v1"
# Renew this long before the access token's expiry, so a page's calls do not race it.
RENEW_MARGIN_SECONDS = 30.0


class ApiError(Exception):
    """An answer of the API outside 2xx: status, stable code, Chinese message, details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def field_errors(self) -> dict[str, str]:
        """Messages by the top-level request field they are about (validation errors)."""
        out: dict[str, str] = {}
        if isinstance(self.details, list):
            for item in self.details:
                if isinstance(item, dict) and item.get("field"):
                    name = str(item["field"]).split(".")[0]
                    out.setdefault(name, str(item.get("message") or self.message))
        return out


class LoggedOut(Exception):
    """The session's tokens no longer work (revoked, expired, role taken away)."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    account: dict[str, Any]


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
        err = body["error"]
        return ApiError(response.status_code, str(err["code"]), str(err["message"]), err.get("details"))
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, "unexpected", "服务暂时不可用，请稍后再试")


class ApiClient:
    def __init__(self, base_url: str, timeout: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout, trust_env=False, transport=transport)

    async def aclose(self) -> None:
        await self.http.aclose()

    # tokens
    async def staff_login(self, username: str, password: str, client_ip: str | None) -> TokenPair:
        response = await self.http.post(
            f"{API}/auth/staff-login", json={"username": username, "password": password},
            headers=_forwarded(client_ip),
        )
        if response.status_code != 200:
            raise _error(response)
        return _pair(response.json())

    async def _refresh(self, refresh_token: str, client_ip: str | None) -> httpx.Response:
        return await self.http.post(
            f"{API}/auth/refresh", json={"refresh_token": refresh_token}, headers=_forwarded(client_ip)
        )

    async def revoke(self, session: Session, client_ip: str | None) -> bool:
        """Ends the session's refresh-token family; True once the API refuses its newest
        token. The API has no logout call; it revokes a whole family when a used refresh
        token is presented again (theft detection), so the console rotates once, presents
        the used token a second time, and checks the rotated one is refused."""
        first = await self._refresh(session.refresh_token, client_ip)
        if first.status_code != 200:
            return True  # already dead
        await self._refresh(session.refresh_token, client_ip)
        check = await self._refresh(first.json()["refresh_token"], client_ip)
        if check.status_code == 200:
            log.warning("refresh family still alive after logout")
            return False
        return True

    async def _renew(self, session: Session, client_ip: str | None) -> None:
        response = await self._refresh(session.refresh_token, client_ip)
        if response.status_code != 200:
            raise LoggedOut()
        pair = _pair(response.json())
        session.access_token = pair.access_token
        session.refresh_token = pair.refresh_token
        session.access_expires_at = time.monotonic() + pair.expires_in

    # calls
    async def request(
        self,
        session: Session,
        method: str,
        path: str,
        *,
        client_ip: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One API call as the session's staff member; 2xx answers only (else ApiError)."""
        if time.monotonic() > session.access_expires_at - RENEW_MARGIN_SECONDS:
            await self._renew(session, client_ip)
        response = await self._send(session, method, path, client_ip, kwargs)
        if response.status_code == 401:
            # Revoked roles or an early expiry: renew once; a second 401 ends the session.
            await self._renew(session, client_ip)
            response = await self._send(session, method, path, client_ip, kwargs)
            if response.status_code == 401:
                raise LoggedOut()
        if response.status_code >= 400:
            raise _error(response)
        return response

    async def _send(
        self, session: Session, method: str, path: str, client_ip: str | None, kwargs: dict[str, Any]
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {session.access_token}", **_forwarded(client_ip)}
        return await self.http.request(method, API + path, headers=headers, **kwargs)

    async def get(self, session: Session, path: str, client_ip: str | None = None, **kwargs: Any) -> Any:
        return (await self.request(session, "GET", path, client_ip=client_ip, **kwargs)).json()

    async def post(self, session: Session, path: str, client_ip: str | None = None, **kwargs: Any) -> Any:
        response = await self.request(session, "POST", path, client_ip=client_ip, **kwargs)
        return response.json() if response.content else None


def _forwarded(client_ip: str | None) -> dict[str, str]:
    # The gateway's per-IP limits then count the browser, not the console process.
    return {"X-Forwarded-For": client_ip} if client_ip else {}


def _pair(body: dict[str, Any]) -> TokenPair:
    return TokenPair(body["access_token"], body["refresh_token"], int(body["expires_in"]), body["account"])
