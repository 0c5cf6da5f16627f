"""The WeChat client of the notices service: the access token from `stable_token` (cached,
refreshed before it expires, one refresher at a time) and `subscribe/send`.

The HTTP client is given to it, so tests and benchmarks point it at the WeChat stand-in
through `httpx.ASGITransport`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger("notices.wechat")

# Errcodes of subscribe/send (WeChat docs).
NO_CONSENT = 43101  # the user has not accepted (or has used up) this template
BAD_DATA = 47003  # template data does not fit the template
BAD_OPENID = 40003
BUSY = -1
RATE_LIMITED = 45011
TOKEN_INVALID = (40001, 42001, 40014)

REFUSED = frozenset({NO_CONSENT, BAD_DATA, BAD_OPENID})
RETRYABLE = frozenset({BUSY, RATE_LIMITED})


@dataclass(frozen=True)
class SendResult:
    """errcode 0 is success; None with `error` is a transport failure (timeout, 5xx)."""

    errcode: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.errcode == 0

    @property
    def retryable(self) -> bool:
        return self.errcode is None or self.errcode in RETRYABLE


class WeChatClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        appid: str,
        secret: str,
        token_margin_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._appid = appid
        self._secret = secret
        self._margin = token_margin_seconds
        self._monotonic = monotonic
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.token_fetches = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    def _fresh(self) -> bool:
        return self._token is not None and self._monotonic() < self._expires_at - self._margin

    async def access_token(self, *, force: bool = False, stale: str | None = None) -> str:
        """The cached token, fetched again when it is close to expiry. `stale` is a token
        WeChat just refused: it is replaced unless another caller already did."""
        if not force and self._fresh():
            return self._token  # type: ignore[return-value]
        async with self._lock:
            if self._fresh() and (stale is None or self._token != stale):
                return self._token  # type: ignore[return-value]
            response = await self._http.post(
                "/cgi-bin/stable_token",
                json={
                    "grant_type": "client_credential",
                    "appid": self._appid,
                    "secret": self._secret,
                    "force_refresh": False,
                },
            )
            response.raise_for_status()
            body = response.json()
            if not body.get("access_token"):
                raise httpx.HTTPError(f"stable_token errcode {body.get('errcode')}")
            self.token_fetches += 1
            self._token = str(body["access_token"])
            self._expires_at = self._monotonic() + float(body.get("expires_in", 7200))
            return self._token

    async def send_subscribe(
        self, *, openid: str, template_id: str, page: str, data: dict[str, Any]
    ) -> SendResult:
        """One subscribe message; never raises for WeChat's or the network's failures."""
        message = {
            "touser": openid,
            "template_id": template_id,
            "page": page,
            "data": data,
            "miniprogram_state": "formal",
            "lang": "zh_CN",
        }
        try:
            token = await self.access_token()
            for attempt in range(2):
                response = await self._http.post(
                    "/cgi-bin/message/subscribe/send", params={"access_token": token}, json=message
                )
                if response.status_code >= 500:
                    return SendResult(None, f"http {response.status_code}")
                response.raise_for_status()
                errcode = int(response.json().get("errcode", 0))
                if errcode in TOKEN_INVALID and attempt == 0:
                    token = await self.access_token(force=True, stale=token)
                    continue
                return SendResult(errcode)
            return SendResult(None, "token refused")
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("subscribe/send failed", extra={"error": type(exc).__name__})
            return SendResult(None, type(exc).__name__)
