"""The WeChat API as identity uses it (code2Session, the phone number, the stable access token),
through the one HTTP client. Transient WeChat errors are retried with backoff; a `session_key`
is dropped on arrival: it is never stored, returned or logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from services.common.wechat_token import StableAccessToken
from services.identity.errors import (
    WeChatCodeInvalid,
    WeChatPhoneCodeInvalid,
    WeChatRiskyUser,
    WeChatUnavailable,
)

log = logging.getLogger("identity.wechat")

# WeChat's "system busy" and "API frequency limit": worth another try after a pause.
RETRYABLE_ERRCODES = frozenset({-1, 45011})
INVALID_CODE_ERRCODES = frozenset({40029, 40163})
EXPIRED_TOKEN_ERRCODES = frozenset({40001, 42001})


@dataclass(frozen=True)
class WeChatIdentity:
    openid: str
    unionid: str | None


class _Retryable(Exception):
    pass


class WeChatClient:
    """Calls WeChat at `base_url` (the stand-in in development and tests)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        appid: str,
        secret: str,
        *,
        retries: int = 3,
        backoff_seconds: float = 0.2,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._appid = appid
        self._secret = secret
        self._retries = retries
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._access_token = StableAccessToken(self._fetch_token)

    async def _call(self, method: str, path: str, *, params: dict[str, Any], json: Any = None) -> dict[str, Any]:
        """One WeChat call with retries; returns the JSON body, errcode 0 or not retryable."""
        attempts = self._retries + 1
        for attempt in range(attempts):
            try:
                response = await self._http.request(method, self._base + path, params=params, json=json)
                if response.status_code >= 500 or response.status_code == 429:
                    raise _Retryable(f"http {response.status_code}")
                response.raise_for_status()
                body = response.json()
                if not isinstance(body, dict):
                    raise WeChatUnavailable()
                errcode = int(body.get("errcode") or 0)
                if errcode in RETRYABLE_ERRCODES:
                    raise _Retryable(f"errcode {errcode}")
                return body
            except (_Retryable, httpx.TransportError) as exc:
                log.warning(
                    "wechat call failed",
                    extra={"path": path, "attempt": attempt + 1, "error": str(exc) if isinstance(exc, _Retryable) else type(exc).__name__},
                )
                if attempt + 1 < attempts:
                    await self._sleep(self._backoff * (2**attempt))
            except (httpx.HTTPStatusError, ValueError) as exc:
                log.warning("wechat answered unexpectedly", extra={"path": path, "error": type(exc).__name__})
                raise WeChatUnavailable() from exc
        raise WeChatUnavailable()

    async def code2session(self, code: str) -> WeChatIdentity:
        body = await self._call(
            "GET",
            "/sns/jscode2session",
            params={
                "appid": self._appid,
                "secret": self._secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
        )
        errcode = int(body.get("errcode") or 0)
        if errcode in INVALID_CODE_ERRCODES:
            raise WeChatCodeInvalid()
        if errcode == 40226:
            raise WeChatRiskyUser()
        openid = body.get("openid")
        if errcode != 0 or not isinstance(openid, str) or not openid:
            log.warning("code2session refused", extra={"errcode": errcode})
            raise WeChatUnavailable()
        # body["session_key"] is deliberately not kept: nothing here needs to decrypt user data.
        unionid = body.get("unionid")
        return WeChatIdentity(openid=openid, unionid=unionid if isinstance(unionid, str) and unionid else None)

    async def _fetch_token(self) -> tuple[str, float]:
        # force_refresh stays off: forcing would invalidate the token the other services hold.
        body = await self._call(
            "POST",
            "/cgi-bin/stable_token",
            params={},
            json={"grant_type": "client_credential", "appid": self._appid, "secret": self._secret, "force_refresh": False},
        )
        token = body.get("access_token")
        if int(body.get("errcode") or 0) != 0 or not isinstance(token, str):
            raise WeChatUnavailable()
        return token, float(body.get("expires_in") or 7200)

    async def phone_number(self, code: str) -> str:
        """The user's mainland phone number from a `getPhoneNumber` button code."""
        token: str | None = None
        for force in (False, True):
            token = await self._access_token.get(force=force, stale=token)
            body = await self._call(
                "POST", "/wxa/business/getuserphonenumber", params={"access_token": token}, json={"code": code}
            )
            errcode = int(body.get("errcode") or 0)
            if errcode in EXPIRED_TOKEN_ERRCODES and not force:
                continue
            if errcode in INVALID_CODE_ERRCODES:
                raise WeChatPhoneCodeInvalid()
            info = body.get("phone_info") or {}
            phone = info.get("purePhoneNumber") if isinstance(info, dict) else None
            if errcode != 0 or not isinstance(phone, str) or not phone:
                raise WeChatUnavailable()
            return phone
        raise WeChatUnavailable()
