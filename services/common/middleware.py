"""ASGI middleware every service mounts: request id, access log, metrics, body size limit,
refusal of NUL characters."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.errors import error_body
from services.common.logs import request_id_var

access_log = logging.getLogger("access")

REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["service", "method", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def _valid_request_id(value: str) -> bool:
    return 0 < len(value) <= 128 and value.isascii() and value.isprintable()


class RequestContextMiddleware:
    """Takes or makes `X-Request-Id`, echoes it, logs one line per request, counts it."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                rid = value.decode("latin-1")
                break
        if not _valid_request_id(rid):
            rid = uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            status = status_holder["status"]
            REQUESTS.labels(self.service, scope["method"], str(status)).inc()
            LATENCY.labels(self.service).observe(elapsed)
            # Path only: query strings may carry personal data.
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit with 413 in the error shape, before a handler reads them.

    Multipart uploads get `upload_limit`, everything else `json_limit`.
    """

    def __init__(self, app: ASGIApp, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.json_limit
        declared: int | None = None
        for key, value in scope["headers"]:
            if key == b"content-type" and value.startswith(b"multipart/"):
                limit = self.upload_limit
            elif key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        if declared is not None and declared > limit:
            await _send_413(send, limit)
            return

        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _BodyTooLarge()
            return message

        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _send_413(send, limit)


class _BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` mid-stream; FastAPI re-raises HTTPExceptions from body reading,
    so the one error handler answers 413 in the error shape."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


async def _send_413(send: Send, limit: int) -> None:
    await _send_error(
        send,
        413,
        error_body("payload_too_large", f"请求内容过大，上限为 {limit // 1024} KB", {"limit": limit}),
    )


async def _send_error(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def header_value(scope: Scope, name: bytes) -> Any:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


_NUL_MESSAGE = "不能包含空字符（\\u0000）"


def _nul_field(value: Any) -> str | None:
    """Dotted path of the first key or string in a decoded JSON value holding a NUL, if any.
    Iterative: a deeply nested body must not exhaust the stack here."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return ".".join(path)
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                if "\x00" in key:
                    return ".".join(path)
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend(((child, (*path, str(i))) for i, child in reversed(list(enumerate(item)))))
    return None


class NulCharacterMiddleware:
    """Refuses NUL characters in the path, the query string or a JSON body with 422 in the
    error shape, before a handler runs.

    PostgreSQL cannot store or even compare text holding U+0000, so such input would otherwise
    end as a 500 deep in a query; no user text needs it. Multipart uploads (binary files) pass.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            await _send_nul_422(send, "")
            return
        content_type = header_value(scope, b"content-type") or ""
        if content_type.startswith("multipart/"):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        # JSON can carry NUL only as the escape \u0000; decode only when the bytes hint at it.
        if b"\\u0000" in body:
            try:
                field = _nul_field(json.loads(body))
            except (ValueError, RecursionError):
                field = None  # not JSON (or too deep): the handler's own validation answers
            if field is not None:
                await _send_nul_422(send, field)
                return

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)


async def _send_nul_422(send: Send, field: str) -> None:
    details = [{"field": field, "type": "nul_character", "message": _NUL_MESSAGE}]
    message = f"请求参数不正确：{field or '请求'}{_NUL_MESSAGE}"
    await _send_error(send, 422, error_body("validation_error", message, details))
