"""Whole responses as the plain ASGI gateway sends them: `(status, headers, body)` tuples."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Send

from gateway.upstream import Headers
from services.common.errors import DomainError, error_body


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Headers, bytes]:
    data = json.dumps(body, ensure_ascii=False).encode()
    out: Headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
    ]
    for name, value in (headers or {}).items():
        out.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    return status, out, data


async def send_response(send: Send, status: int, headers: Headers, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def error_response(exc: DomainError) -> tuple[int, Headers, bytes]:
    return json_response(exc.status_code, error_body(exc.code, exc.message, exc.details), exc.headers)
