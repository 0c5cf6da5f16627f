"""The gateway's internal listener: `GET /metrics` (Prometheus text) on a port of its own,
apart from the public one.

The gateway's figures (request counts per path and status, upstream failures) describe
the public API's traffic and weak spots, so they are not served where the public can reach
them. Like the services' /metrics, which listen on the internal network only, this listener
is meant for the monitoring network: loopback in `make run`, a port the compose file does not
publish in production. A scraper needs no token here (an access token lives 15 minutes,
which a scrape configuration cannot follow).

It is a few lines of asyncio rather than a second uvicorn server: uvicorn's `Server.serve`
installs its own signal handlers, which would take Ctrl-C away from the main server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.common.errors import error_body

# A scrape request is one short line and a few headers.
MAX_HEAD_BYTES = 16 * 1024
READ_TIMEOUT_SECONDS = 5.0


class InternalListener:
    """Serves `GET /metrics` on `host:port` (port 0: any free port, see `port` once started)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        # reuse_port: the workers of `uvicorn --workers N` each start this listener on the same
        # port (the second one used to fail its start-up with "address already in use"); the
        # kernel hands each scrape to one of them, so a scrape shows one worker's counters.
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, limit=MAX_HEAD_BYTES,
            reuse_port=self.port != 0,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_SECONDS)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            writer.close()
            return
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        method = parts[0] if parts else b""
        path = parts[1].split(b"?", 1)[0] if len(parts) > 1 else b""
        if method in (b"GET", b"HEAD") and path == b"/metrics":
            status, content_type, body = b"200 OK", CONTENT_TYPE_LATEST.encode(), generate_latest()
        else:
            status, content_type = b"404 Not Found", b"application/json"
            body = json.dumps(error_body("not_found", "接口不存在"), ensure_ascii=False).encode()
        writer.write(
            b"HTTP/1.1 " + status + b"\r\ncontent-type: " + content_type
            + b"\r\ncontent-length: " + str(len(body)).encode()
            + b"\r\nconnection: close\r\n\r\n" + (b"" if method == b"HEAD" else body)
        )
        with contextlib.suppress(OSError):
            await writer.drain()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
