"""JSON logs, one object per line, with the request id; secrets, login codes, tokens, session
keys and phone numbers are redacted before a line is written."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

REDACTED = "[redacted]"

# Names whose value is a secret wherever it shows: a query parameter (`secret=…`, `js_code=…`
# in a WeChat URL), a JSON or Python-literal field (`"password": "…"`), a log record's extra
# field. Matched case-insensitively and as whole names, so `errcode` or `code_count` stay.
SENSITIVE_NAMES = frozenset(
    {
        # WeChat: the AppSecret, wx.login and getPhoneNumber codes, session keys, encrypted data.
        "secret", "appsecret", "app_secret", "client_secret",
        "js_code", "code", "phone_code", "login_code",
        "session_key", "encrypteddata", "encrypted_data",
        # Our own and WeChat's tokens, passwords and keys.
        "access_token", "refresh_token", "id_token", "token", "authorization", "cookie",
        "password", "new_password", "old_password", "initial_password",
        "webhook_secret", "signing_key_pem", "private_key",
        # Phone numbers under their usual names (also caught by shape below, in any form).
        "phone", "phonenumber", "purephonenumber", "phone_number", "mobile",
        "owner_phone", "contact_phone",
    }
)

# Any `<prefix>_secret`, `<prefix>_password`, `<prefix>_token` is one too (WECHAT_SECRET=…).
SENSITIVE_SUFFIXES = ("secret", "password", "token")


def is_sensitive_name(name: str) -> bool:
    name = name.lower()
    return name in SENSITIVE_NAMES or name.endswith(tuple("_" + s for s in SENSITIVE_SUFFIXES))


_NAMES = "|".join(
    [rf"(?:[A-Za-z0-9]+_)+(?:{'|'.join(SENSITIVE_SUFFIXES)})"]
    + sorted((re.escape(n) for n in SENSITIVE_NAMES), key=len, reverse=True)
)

# `name=value` (query strings, form bodies) and `"name": value` / `'name': value` (JSON, repr).
# The value ends at the next separator; a quoted value keeps its quotes so JSON stays JSON.
# No ambiguous repetition: every pattern here runs in linear time on any input (tested).
_FIELD_RE = re.compile(
    rf"""(?<![A-Za-z0-9_])(?P<q>["']?)(?P<name>{_NAMES})(?P=q)(?P<sep>\s*[:=]\s*)
         (?P<value>"(?:[^"\\]|\\.)*"|'[^'\\]*'|[^\s&,;"'}}\])<>]+)""",
    re.IGNORECASE | re.VERBOSE,
)

# A mainland mobile number in the forms people and programs write it: 13812341234,
# +8613812341234, 86-13812341234, 0086 138 1234 1234, (+86) 138-1234-1234, %2B86… in a URL.
# Bounded by anything but an ASCII letter or digit, so hex ids and tokens are not mangled.
_PHONE_RE = re.compile(
    r"""(?<![0-9A-Za-z])
        (?:\(?(?:\+|%2[Bb]|00)?86\)?[\s-]{0,2})?
        1[3-9][0-9](?:[\s-]{0,2}[0-9]){8}
        (?![0-9A-Za-z])""",
    re.VERBOSE,
)

_TOKEN_SHAPES = [
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [token]"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[jwt]"),
    (re.compile(r"(?<![A-Za-z0-9_])rt_[A-Za-z0-9_-]{16,}"), "[refresh-token]"),
    (re.compile(r"whsec_[A-Za-z0-9+/=]+"), "[secret]"),
]


def _redact_field(match: re.Match[str]) -> str:
    value = match["value"]
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match['q']}{match['name']}{match['q']}{match['sep']}{quote}{REDACTED}{quote}"


def redact(text: str) -> str:
    """The text with every secret, code, token, session key and phone number replaced."""
    # Tokens first (a phone-like run inside one must not split it), then phones (a spaced
    # number after `phone=` must go whole), then named fields.
    for pattern, replacement in _TOKEN_SHAPES:
        text = pattern.sub(replacement, text)
    text = _PHONE_RE.sub("[phone]", text)
    return _FIELD_RE.sub(_redact_field, text)


def redact_value(value: Any) -> Any:
    """`value` (an extra field of a log record) made safe to log: strings redacted, containers
    walked, the values of sensitive names dropped, anything else logged as its redacted str."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            str(k): REDACTED if is_sensitive_name(str(k)) else redact_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v) for v in value]
    return redact(str(value))


_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Every string that reaches the line (message, extra fields,
    traceback) goes through `redact`: this is the one place a log line is made."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = redact(rid)
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = REDACTED if is_sensitive_name(key) else redact_value(value)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


# Client libraries that log each call's full URL (query string included) at INFO or DEBUG, or
# each SQL statement with its parameters (aiosqlite at DEBUG: phones, names, password hashes).
# WeChat's URLs carry the AppSecret, login codes and access tokens. Their warnings still show.
QUIET_LOGGERS = ("httpx", "httpcore", "hpack", "aiosqlite")


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn's own access log prints raw query strings; ours is structured and redacted.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
