"""A small HTTP/1.1 load generator for the benches (wrk is not installed on these machines).

Keep-alive connections on raw asyncio streams (uvloop when present): far cheaper per request
than an HTTP client library, so the load tool takes little of the CPU it is measuring. Used
side by side on the minimal app and on the services, so ratios compare like with like.

- `RawConnection.request(method, path, headers, body)` -> (status, body bytes).
- `hammer(url, connections, seconds, headers)`: one fixed request in a loop per connection.
- `run_flows(flow, clients, total)`: `total` runs of an async `flow(conn, i, record)` spread
  over `clients` concurrent workers, each with its own keep-alive connection; `record(label,
  seconds, status)` collects per-step figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


@dataclass
class LoadResult:
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300) + self.errors

    def line(self) -> str:
        return (
            f"{self.rate:8.1f}/s  p50 {self.p50_ms:7.1f} ms  p99 {self.p99_ms:7.1f} ms  "
            f"n={self.requests} non-2xx {self.non_2xx}"
        )


class RawConnection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closed it."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    def encode(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None
    ) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        payload = b""
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
            lines.append("Content-Type: application/json")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(payload)}")
        lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self._writer is None:
                await self._connect()
            assert self._reader is not None and self._writer is not None
            try:
                self._writer.write(raw)
                head = await self._reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt:
                    raise
                continue
            status = int(head[9:12])
            length = None
            chunked = close = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
                elif name == b"connection" and b"close" in value.lower():
                    close = True
            if chunked:
                body = b""
                while True:
                    size = int((await self._reader.readuntil(b"\r\n")).strip(), 16)
                    chunk = await self._reader.readexactly(size + 2)
                    if size == 0:
                        break
                    body += chunk[:-2]
            elif length is not None:
                body = await self._reader.readexactly(length)
            else:
                body = await self._reader.read()
                close = True
            if close:
                await self.close()
            return status, body
        raise ConnectionError("unreachable")

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None
    ) -> tuple[int, bytes]:
        return await self.send(self.encode(method, path, headers, body))


def _use_uvloop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def _hammer(url: str, connections: int, seconds: float, headers: dict[str, str]) -> LoadResult:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    result = LoadResult()
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        conn = RawConnection(url)
        raw = conn.encode("GET", path, headers)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    status, _ = await conn.send(raw)
                except (OSError, asyncio.IncompleteReadError):
                    result.errors += 1
                    await asyncio.sleep(0.01)
                    continue
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.requests += 1
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result


def hammer(url: str, *, connections: int = 64, seconds: float = 5.0, headers: dict[str, str] | None = None) -> LoadResult:
    """`connections` keep-alive connections sending the same GET for `seconds`."""
    _use_uvloop()
    return asyncio.run(_hammer(url, connections, seconds, headers or {}))


Record = Callable[[str, float, int], None]
Flow = Callable[[RawConnection, int, Record], Awaitable[None]]


async def run_flows(url: str, flow: Flow, *, clients: int, total: int) -> dict[str, LoadResult]:
    """`total` runs of `flow` by `clients` concurrent workers; figures per recorded label
    (each label's rate is its count over the whole run's wall time)."""
    results: dict[str, LoadResult] = {}
    counter = iter(range(total))

    def record(label: str, seconds: float, status: int) -> None:
        entry = results.setdefault(label, LoadResult())
        entry.latencies.append(seconds)
        entry.statuses[status] = entry.statuses.get(status, 0) + 1
        entry.requests += 1

    async def worker() -> None:
        conn = RawConnection(url)
        try:
            for i in counter:
                await flow(conn, i, record)
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    for entry in results.values():
        entry.seconds = elapsed
    return results


async def timed(
    conn: RawConnection, record: Record, label: str, method: str, path: str,
    headers: dict[str, str] | None = None, body: Any = None,
) -> tuple[int, Any]:
    """One request of a flow, recorded under `label`; returns (status, decoded JSON or None)."""
    started = time.perf_counter()
    status, raw = await conn.request(method, path, headers, body)
    record(label, time.perf_counter() - started, status)
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None
