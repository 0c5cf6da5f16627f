"""WeChat's server-side access token (`/cgi-bin/stable_token`), cached per process.

Every service that calls WeChat's server API needs the same thing: the token, fetched once,
reused until shortly before it expires, replaced when WeChat says it is no longer valid,
with one refresher at a time so a burst of calls makes one fetch. How the token is fetched
(which client, which errors) stays with the service; this is only the cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

# (token, seconds it is valid for, as WeChat's expires_in says)
TokenFetch = Callable[[], Awaitable[tuple[str, float]]]


class StableAccessToken:
    def __init__(
        self,
        fetch: TokenFetch,
        *,
        margin_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._margin = margin_seconds
        self._monotonic = monotonic
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return self._token is not None and self._monotonic() < self._expires_at - self._margin

    async def get(self, *, force: bool = False, stale: str | None = None) -> str:
        """The cached token, fetched again when close to expiry or when `force`d. `stale` is
        a token WeChat just refused: it is replaced unless another caller already did."""
        if not force and self._fresh():
            return self._token  # type: ignore[return-value]
        async with self._lock:
            if self._fresh() and not force:
                return self._token  # type: ignore[return-value]
            if self._fresh() and stale is not None and self._token != stale:
                return self._token  # type: ignore[return-value]
            token, expires_in = await self._fetch()
            self._token = token
            # Never trust a token for less than a minute, whatever the margin.
            self._expires_at = self._monotonic() + max(float(expires_in), self._margin + 60)
            return token
