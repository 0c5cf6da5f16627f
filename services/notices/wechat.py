"""The WeChat client of the notices service: the access token from `stable_token` (cached,
refreshed before it expires, one refresher at a time) and `subscribe/send`.

It speaks to an httpx transport directly (the connection pool, without the AsyncClient's
per-request cookie, redirect and URL-merging work): a fan-out sends thousands of messages
and that overhead was most of the cost. The transport is given to it, so tests and
benchmarks point it at the WeChat stand-in through `httpx.ASGITransport`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from services.common.wechat_token import StableAccessToken

log = logging.getLogger("notices.wechat")

# Errcodes of subscribe/send (WeChat docs).
NO_CONSENT = 43101  # the user has not accepted (or has used up) this template
BAD_DATA = 47003  # template data does not fit the template
BAD_OPENID = 40003
BUSY = -1
RATE_LIMITED = 45011
TOKEN_INVALID = (40001, 42001, 40014)

_JSON = {"content-type": "application/json; charset=utf-8"}

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
        transport: httpx.AsyncBaseTransport,
        *,
        base_url: str,
        appid: str,
        secret: str,
        timeout_seconds: float = 5.0,
        token_margin_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._base = base_url.rstrip("/")
        self._timeout = {
            "connect": timeout_seconds,
            "read": timeout_seconds,
            "write": timeout_seconds,
            "pool": timeout_seconds,
        }
        self._appid = appid
        self._secret = secret
        self._token = StableAccessToken(
            self._fetch_token, margin_seconds=token_margin_seconds, monotonic=monotonic
        )
        self._urls: dict[str, httpx.URL] = {}

    async def aclose(self) -> None:
        await self._transport.aclose()

    def _url(self, path: str) -> httpx.URL:
        # Parsed once per path and token: URL parsing was a good part of each send's cost.
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) > 16:
                self._urls.clear()
            url = self._urls[path] = httpx.URL(self._base + path)
        return url

    async def _post(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body or {}) of a POST; raises httpx errors (timeouts...)."""
        request = httpx.Request(
            "POST",
            self._url(path),
            content=body,
            headers=_JSON,
            extensions={"timeout": self._timeout},
        )
        response = await self._transport.handle_async_request(request)
        try:
            raw = await response.aread()
        finally:
            await response.aclose()
        if response.status_code >= 400:
            return response.status_code, {}
        parsed = json.loads(raw) if raw else {}
        return response.status_code, parsed if isinstance(parsed, dict) else {}

    async def _fetch_token(self) -> tuple[str, float]:
        credentials = {
            "grant_type": "client_credential",
            "appid": self._appid,
            "secret": self._secret,
            "force_refresh": False,
        }
        status, body = await self._post("/cgi-bin/stable_token", json.dumps(credentials).encode())
        if status >= 400:
            raise httpx.HTTPError(f"stable_token http {status}")
        if not body.get("access_token"):
            raise httpx.HTTPError(f"stable_token errcode {body.get('errcode')}")
        return str(body["access_token"]), float(body.get("expires_in", 7200))

    async def access_token(self, *, force: bool = False, stale: str | None = None) -> str:
        """The cached token; `stale` is one WeChat just refused (see StableAccessToken.get)."""
        return await self._token.get(force=force, stale=stale)

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
        # Encoded once here: this is the hot path of a fan-out to thousands.
        content = json.dumps(message, ensure_ascii=False).encode()
        try:
            token = await self.access_token()
            for attempt in range(2):
                path = f"/cgi-bin/message/subscribe/send?access_token={quote(token, safe='')}"
                status, answer = await self._post(path, content)
                if status >= 400:
                    return SendResult(None, f"http {status}")
                errcode = int(answer.get("errcode", 0))
                if errcode in TOKEN_INVALID and attempt == 0:
                    token = await self.access_token(force=True, stale=token)
                    continue
                return SendResult(errcode)
            return SendResult(None, "token refused")
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("subscribe/send failed", extra={"error": type(exc).__name__})
            return SendResult(None, type(exc).__name__)
