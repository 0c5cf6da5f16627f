"""A producer (identity's database + the dispatcher as its own process) and a consumer (a
receiver app under uvicorn on loopback, on repairs' database) for the event benchmarks and
the chaos run. The consumer's handler appends one row per application to `bench_applied`,
a table without any uniqueness, so an event applied twice shows up as two rows.

Databases: SQLite files in a temporary folder, or PostgreSQL databases when
TEST_DATABASE_URL is set (created and dropped here).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.common.db import create_engine, create_sessionmaker, utcnow
from services.common.events import emit
from tests.support import create_database, drop_database

EVENT_TYPE = "identity.bench.applied"
ROOT = Path(__file__).resolve().parent.parent


def digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def payload_of(n: int, keys: int) -> tuple[dict[str, Any], str]:
    key = f"k{n % keys}"
    return {"community_id": "bench", "n": n, "key": key, "text": f"第{n}号事件"}, key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def create_applied_table(engine: AsyncEngine) -> None:
    pk = (
        "BIGSERIAL PRIMARY KEY"
        if engine.dialect.name == "postgresql"
        else "INTEGER PRIMARY KEY AUTOINCREMENT"
    )
    async with engine.begin() as conn:
        await conn.execute(
            text(
                f"CREATE TABLE bench_applied (id {pk}, event_id VARCHAR(64) NOT NULL, "
                "n INTEGER NOT NULL, okey VARCHAR(32), digest VARCHAR(64) NOT NULL, "
                "latency_ms DOUBLE PRECISION)"
            )
        )


@dataclass
class Harness:
    workdir: Path
    # Compressed, but long enough (about a minute) to outlast a restart on a busy machine.
    retry_schedule: str = "0.2,0.5,1,1,2,2,2,3,3,3,5,5,5,10,10"
    lease_seconds: float = 2.0
    timeout_seconds: float = 1.0
    producer_url: str = ""
    consumer_url: str = ""
    port: int = 0
    secret: str = field(default_factory=lambda: "whsec_" + base64.b64encode(os.urandom(24)).decode())
    receiver: subprocess.Popen[bytes] | None = None
    dispatcher: subprocess.Popen[bytes] | None = None
    producer: AsyncEngine | None = None
    consumer: AsyncEngine | None = None
    reader: AsyncEngine | None = None

    async def __aenter__(self) -> Harness:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.producer_url = await create_database("identity", self.workdir)
        self.consumer_url = await create_database("repairs", self.workdir)
        self.producer = create_engine(self.producer_url)
        self.consumer = create_engine(self.consumer_url)
        # Reads of the harness go through a plain engine: the services' SQLite engine begins
        # every transaction IMMEDIATE (a write lock), which would compete with the receiver.
        self.reader = create_async_engine(self.consumer_url)
        await create_applied_table(self.consumer)
        self.port = free_port()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        for proc in (self.receiver, self.dispatcher):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for engine in (self.producer, self.consumer, self.reader):
            if engine is not None:
                await engine.dispose()
        await drop_database(self.producer_url)
        await drop_database(self.consumer_url)

    def env(self) -> dict[str, str]:
        subs = [
            {
                "name": "repairs",
                "url": f"http://127.0.0.1:{self.port}/events",
                "types": ["identity.bench.*"],
                "secret": self.secret,
            }
        ]
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATA_DIR": str(self.workdir / "data"),
            "LOG_LEVEL": "WARNING",
            "IDENTITY_DATABASE_URL": self.producer_url,
            "IDENTITY_EVENT_SUBSCRIPTIONS": json.dumps(subs),
            "IDENTITY_EVENT_RETRY_SCHEDULE": self.retry_schedule,
            "IDENTITY_EVENT_LEASE_SECONDS": str(self.lease_seconds),
            "IDENTITY_EVENT_DELIVERY_TIMEOUT_SECONDS": str(self.timeout_seconds),
            "REPAIRS_DATABASE_URL": self.consumer_url,
            "IDENTITY_TO_REPAIRS_WEBHOOK_SECRET": self.secret,
            "REPAIRS_EVENTS_DISPATCHER_ENABLED": "false",
        }

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, *args], env=self.env(), cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def start_receiver(self) -> None:
        self.receiver = self._spawn("-m", "bench.events_receiver", "--port", str(self.port))

    def start_dispatcher(self) -> None:
        self.dispatcher = self._spawn("-m", "services.common.events", "--service", "identity")

    @staticmethod
    def cpu_seconds(proc: subprocess.Popen[bytes] | None) -> float:
        """User + system CPU time of a child process so far (Linux /proc)."""
        if proc is None:
            return 0.0
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def kill(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    async def wait_receiver_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise TimeoutError("receiver did not start")

    async def emit_range(self, start: int, stop: int, keys: int) -> None:
        assert self.producer is not None
        async with create_sessionmaker(self.producer)() as session:
            for n in range(start, stop):
                payload, key = payload_of(n, keys)
                emit(session, EVENT_TYPE, payload, ordering_key=key)
            await session.commit()

    async def applied(self) -> int:
        assert self.reader is not None
        async with self.reader.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM bench_applied"))).scalar() or 0)

    async def wait_applied(self, n: int, timeout: float) -> float:
        """Waits until n rows are applied; returns the monotonic time it happened."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.applied() >= n:
                return time.monotonic()
            await asyncio.sleep(0.05)
        raise TimeoutError(f"only {await self.applied()} of {n} events applied in {timeout} s")

    async def check_exactly_once(self, n: int, keys: int) -> dict[str, Any]:
        """Every event 0..n-1 applied exactly once, with its exact content, in per-key order."""
        assert self.consumer is not None
        async with self.consumer.connect() as conn:
            rows = (
                await conn.execute(text("SELECT n, okey, digest, event_id FROM bench_applied ORDER BY id"))
            ).all()
        ns = [r.n for r in rows]
        duplicates = len(ns) - len(set(ns))
        missing = sorted(set(range(n)) - set(ns))
        wrong = [r.n for r in rows if r.digest != digest(payload_of(r.n, keys)[0])]
        by_key: dict[str, list[int]] = {}
        for r in rows:
            by_key.setdefault(r.okey, []).append(r.n)
        out_of_order = sum(1 for v in by_key.values() if v != sorted(v))
        return {
            "applied_rows": len(rows),
            "distinct_events": len(set(ns)),
            "distinct_webhook_ids": len({r.event_id for r in rows}),
            "duplicates": duplicates,
            "missing": len(missing),
            "wrong_content": len(wrong),
            "keys_out_of_order": out_of_order,
        }

    async def latencies_ms(self) -> list[float]:
        assert self.consumer is not None
        async with self.consumer.connect() as conn:
            rows = await conn.execute(text("SELECT latency_ms FROM bench_applied"))
            return [float(r[0]) for r in rows]


__all__ = ["Harness", "digest", "payload_of", "utcnow"]
