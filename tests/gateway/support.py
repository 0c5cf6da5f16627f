"""Helpers for gateway tests: real uvicorn servers in the test's own event loop, a gateway app
wired to them, and an echo service that answers what it was sent."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import redis
import uvicorn
from starlette.types import Receive, Scope, Send

from gateway.app import Gateway, create_app
from gateway.settings import GatewaySettings
from tests.support import JWKS_JSON

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def redis_up() -> bool:
    """Whether the Redis of the Redis tests answers (they are skipped otherwise)."""
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.3).ping())
    except redis.RedisError:
        return False


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connecting is refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@asynccontextmanager
async def serve(app: Any, **config: Any) -> AsyncIterator[str]:
    """Serves an ASGI app over real loopback TCP in this loop; yields its base URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options: dict[str, Any] = {"log_level": "warning", "access_log": False, "lifespan": "on"}
    server = uvicorn.Server(uvicorn.Config(app, **{**options, **config}))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def gateway_settings(urls: dict[str, str] | None = None, **overrides: Any) -> GatewaySettings:
    down = closed_port_url()
    service_urls = {name: down for name in ("identity", "repairs", "votes", "notices")}
    service_urls.update(urls or {})
    values: dict[str, Any] = {
        "service_urls": service_urls,
        "jwks_json": JWKS_JSON,
        "redis_url": "",
        "rate_account_per_second": 1000.0,
        "rate_account_burst": 1000,
        "rate_ip_per_second": 1000.0,
        "rate_ip_burst": 1000,
        # No identity to pull role changes from unless a test gives one.
        "role_changes_poll_seconds": 0,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@asynccontextmanager
async def gateway_client(settings: GatewaySettings) -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    """The gateway app with its start-up run, and an in-process client to it."""
    app = create_app(settings)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield app, client


async def answer_lifespan(receive: Receive, send: Send) -> None:
    """A stand-in service's ASGI lifespan: every start-up and shutdown completes at once."""
    while True:
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """What a service saw of the forwarded request, as JSON."""
    if scope["type"] == "lifespan":
        return await answer_lifespan(receive, send)
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["path"] == "/repairs/slow":
        await asyncio.sleep(5)
    seen = {
        "method": scope["method"],
        "raw_path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
        "body_length": len(body),
    }
    data = json.dumps(seen).encode()
    headers = [(b"content-type", b"application/json"), (b"x-request-id", b"from-upstream"),
               (b"x-upstream", b"echo")]
    if scope["path"] == "/repairs/chunked":
        # No content-length: uvicorn sends it chunked.
        await send({"type": "http.response.start", "status": 202, "headers": headers})
        for i in range(0, len(data), 7):
            await send({"type": "http.response.body", "body": data[i : i + 7], "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    headers.append((b"content-length", str(len(data)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": data})
