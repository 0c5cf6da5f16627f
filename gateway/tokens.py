"""The gateway's token check: identity's JWKS via the shared `TokenVerifier`, with verified
tokens remembered until they expire so a client's repeated calls cost one signature check."""

from __future__ import annotations

import base64
import json
import time

from services.common.auth import Principal, TokenVerifier


def _expiry(token: str) -> float:
    """`exp` of a token whose signature was just verified (so the payload is trusted)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return float(claims["exp"])


class CachingVerifier:
    """Verifies with `verifier`; a token that passed is accepted again, without a new
    signature check, until its own `exp`. Failures are never cached (each is re-checked)."""

    def __init__(self, verifier: TokenVerifier, max_entries: int = 50_000) -> None:
        self.verifier = verifier
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._max = max_entries

    async def verify(self, token: str) -> Principal:
        hit = self._cache.get(token)
        if hit is not None:
            if hit[1] > time.time():
                # The signature holds until exp; the roles may not (role_changes.py).
                self.verifier.check_current(hit[0])
                return hit[0]
            del self._cache[token]
        principal = await self.verifier.verify(token)
        if len(self._cache) >= self._max:
            now = time.time()
            self._cache = {t: e for t, e in self._cache.items() if e[1] > now}
            if len(self._cache) >= self._max:
                self._cache.clear()
        self._cache[token] = (principal, _expiry(token))
        return principal
