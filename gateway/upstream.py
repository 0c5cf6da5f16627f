"""The gateway's HTTP/1.1 client to the services: a keep-alive connection pool per service,
built on asyncio protocols and httptools (the parser uvicorn uses).

Why not httpx: measured on the bench (bench/gateway.py), a proxy on a default
`httpx.AsyncClient` keeps well under half of the direct throughput; the cost is in the
client's per-request machinery, not in the network. The proxy needs little of it: one
request at a time per connection, bodies already in memory, answers buffered. This pool
does only that, with explicit connect and answer timeouts, and it answers a refused
connection at once (a stopped service is a quick 503, never a hang).
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass
from typing import Any

import httptools

Headers = list[tuple[bytes, bytes]]


class UpstreamError(Exception):
    """The service could not be reached or broke the connection (→ 503 at the gateway)."""


class UpstreamTimeout(Exception):
    """The service accepted the request but did not answer in time (→ 504 at the gateway)."""


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: Headers
    body: bytes


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries one request at a time."""

    def __init__(self) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; typed loosely.
        self.transport: Any = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = time.monotonic()
        self._waiter: asyncio.Future[None] | None = None
        self._status = 0
        self._headers: Headers = []
        self._body: list[bytes] = []
        self._head_only = False
        self._received_any = False
        self.keep_alive = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"bad response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(UpstreamError("connection closed by service"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self._status = self.parser.get_status_code()
        if self._head_only:
            # A HEAD answer has no body whatever its headers say; do not reuse the parser.
            self.keep_alive = False
            self._finish()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        self._finish()

    # internals
    def _finish(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def send(self, payload: bytes, head_only: bool, timeout: float) -> UpstreamResponse:
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        self._status, self._headers, self._body = 0, [], []
        self._head_only = head_only
        self._received_any = False
        self.transport.write(payload)
        timer = loop.call_later(timeout, self._time_out)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
        return UpstreamResponse(self._status, self._headers, b"".join(self._body))

    def _time_out(self) -> None:
        self._fail(UpstreamTimeout())
        self.close()

    @property
    def received_any(self) -> bool:
        return self._received_any


class UpstreamPool:
    """Keep-alive connections to one service (`http://host:port`)."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 2.0,
        timeout: float = 15.0,
        max_idle: int = 128,
        idle_seconds: float = 4.0,
        max_connections: int = 512,
    ) -> None:
        scheme, _, rest = base_url.partition("://")
        if scheme != "http":
            raise ValueError(f"only http:// upstreams are supported, got {base_url!r}")
        hostport = rest.split("/", 1)[0]
        host, _, port = hostport.rpartition(":")
        self.host = host or hostport
        self.port = int(port) if host else 80
        self._host_header = hostport.encode("latin-1")
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.max_idle = max_idle
        self.idle_seconds = idle_seconds
        self._idle: collections.deque[_Connection] = collections.deque()
        self._slots = asyncio.Semaphore(max_connections)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(_Connection, self.host, self.port),
                self.connect_timeout,
            )
        except (TimeoutError, OSError) as exc:
            raise UpstreamError(f"cannot connect: {type(exc).__name__}") from exc
        return conn

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()  # most recently used first: the warmest socket
            if not conn.closed and now - conn.idle_since < self.idle_seconds:
                return conn
            conn.close()
        return None

    def _release(self, conn: _Connection) -> None:
        if conn.closed or not conn.keep_alive or len(self._idle) >= self.max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.append(conn)

    async def request(
        self, method: str, target: bytes, headers: Headers, body: bytes
    ) -> UpstreamResponse:
        """Sends one request and returns the whole answer."""
        lines = [
            method.encode("ascii"), b" ", target, b" HTTP/1.1\r\nhost: ", self._host_header,
            b"\r\ncontent-length: ", str(len(body)).encode("ascii"), b"\r\n",
        ]
        for name, value in headers:
            lines += (name, b": ", value, b"\r\n")
        lines.append(b"\r\n")
        lines.append(body)
        payload = b"".join(lines)
        head_only = method == "HEAD"
        async with self._slots:
            conn = self._take_idle()
            reused = conn is not None
            if conn is None:
                conn = await self._connect()
            try:
                response = await conn.send(payload, head_only, self.timeout)
            except UpstreamError:
                conn.close()
                # A kept-alive socket the service closed meanwhile: nothing was processed,
                # so one retry on a fresh connection is safe.
                if not reused or conn.received_any:
                    raise
                conn = await self._connect()
                try:
                    response = await conn.send(payload, head_only, self.timeout)
                except BaseException:
                    conn.close()
                    raise
            except BaseException:
                conn.close()
                raise
            self._release(conn)
            return response

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()
