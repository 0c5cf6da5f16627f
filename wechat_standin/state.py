"""The stand-in's memory: codes, access tokens, consents, sent messages and pending faults.

Everything lives in this one object, in the one process: restarting the stand-in forgets it all,
and it must run as a single worker. No method awaits, so each call is atomic under asyncio.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wechat_standin.rules import errmsg as default_errmsg

Clock = Callable[[], float]  # seconds since the epoch

# Used codes are remembered this long after they expire (to answer 40163), then forgotten.
_FORGET_AFTER_SECONDS = 3600


class WeChatError(Exception):
    """An answer WeChat gives as `{"errcode": N, "errmsg": "..."}` with HTTP 200."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = errmsg or default_errmsg(errcode)


@dataclass
class _Code:
    payload: dict[str, Any]
    expires_at: float
    used: bool = False


@dataclass
class _Token:
    appid: str
    expires_at: float
    superseded: bool = False


@dataclass
class Fault:
    """One failing call: either a WeChat errcode (HTTP 200) or a bare HTTP status."""

    errcode: int | None = None
    http_status: int | None = None


@dataclass
class StandinState:
    code_ttl_seconds: int
    access_token_ttl_seconds: int
    clock: Clock = time.time
    # Added to the clock by `POST /_standin/clock`, so tests over HTTP can fast-forward.
    offset_seconds: float = 0.0
    login_codes: dict[str, _Code] = field(default_factory=dict)
    phone_codes: dict[str, _Code] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    current_token: dict[str, str] = field(default_factory=dict)  # appid -> token
    consents: Counter[tuple[str, str]] = field(default_factory=Counter)
    messages: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, deque[Fault]] = field(default_factory=dict)

    def now(self) -> float:
        return self.clock() + self.offset_seconds

    def reset(self) -> None:
        """Forget everything except the clock's offset."""
        for store in (
            self.login_codes, self.phone_codes, self.tokens, self.current_token,
            self.consents, self.faults,
        ):
            store.clear()
        self.messages.clear()

    # --- single-use codes (wx.login codes and phone codes) -------------------------------

    def issue_code(self, store: dict[str, _Code], payload: dict[str, Any], nbytes: int) -> str:
        now = self.now()
        forget_before = now - _FORGET_AFTER_SECONDS
        for stale in [c for c, rec in store.items() if rec.expires_at < forget_before]:
            del store[stale]
        code = secrets.token_hex(nbytes)
        store[code] = _Code(payload, now + self.code_ttl_seconds)
        return code

    def redeem_code(self, store: dict[str, _Code], code: str) -> dict[str, Any]:
        """The payload behind a code, once: reused → 40163, unknown or expired → 40029."""
        record = store.get(code)
        if record is None:
            raise WeChatError(40029)
        if record.used:
            raise WeChatError(40163)
        if record.expires_at <= self.now():
            raise WeChatError(40029)
        record.used = True
        return record.payload

    # --- access tokens --------------------------------------------------------------------

    def stable_token(self, appid: str, force_refresh: bool) -> tuple[str, int]:
        """getStableAccessToken: the current token while it lives (normal mode), or a new one
        that retires the previous (force_refresh). Returns (token, seconds left)."""
        now = self.now()
        current = self.current_token.get(appid)
        if current is not None:
            record = self.tokens[current]
            if not force_refresh and record.expires_at > now:
                return current, max(1, int(record.expires_at - now))
            record.superseded = True
        token = secrets.token_urlsafe(96)
        self.tokens[token] = _Token(appid, now + self.access_token_ttl_seconds)
        self.current_token[appid] = token
        return token, self.access_token_ttl_seconds

    def check_token(self, token: str | None) -> str:
        """The appid an access token belongs to: missing → 41001, unknown or replaced → 40001,
        expired → 42001."""
        if not token:
            raise WeChatError(41001)
        record = self.tokens.get(token)
        if record is None or record.superseded:
            raise WeChatError(40001)
        if record.expires_at <= self.now():
            raise WeChatError(42001)
        return record.appid

    # --- subscribe messages ---------------------------------------------------------------

    def add_consent(self, openid: str, template_id: str) -> int:
        self.consents[(openid, template_id)] += 1
        return self.consents[(openid, template_id)]

    def deliver(self, message: dict[str, Any]) -> int:
        """Record a subscribe message, consuming one consent (none left → 43101)."""
        key = (message["touser"], message["template_id"])
        if self.consents[key] <= 0:
            raise WeChatError(43101)
        self.consents[key] -= 1
        msgid = len(self.messages) + 1
        self.messages.append({"msgid": msgid, "sent_at": int(self.now()), **message})
        return msgid

    # --- faults ---------------------------------------------------------------------------

    def add_fault(self, path: str, fault: Fault, times: int) -> int:
        queue = self.faults.setdefault(path, deque())
        queue.extend([fault] * times)
        return len(queue)

    def take_fault(self, path: str) -> Fault | None:
        queue = self.faults.get(path)
        return queue.popleft() if queue else None
