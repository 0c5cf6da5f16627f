"""Shared bench helpers: wrk (installed from Debian's packages when missing) and its figures, and
a timing run on a temporary SQLite file and a temporary PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.migrations import upgrade


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    print("wrk not found: installing it with apt-get (Debian package 'wrk')", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, stdout=subprocess.DEVNULL)
    path = shutil.which("wrk")
    if not path:
        subprocess.run(["apt-get", "update", "-q"], check=False, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)
        path = shutil.which("wrk")
    if not path:
        raise RuntimeError("wrk is required: apt-get install wrk")
    return path


@dataclass
class WrkResult:
    requests_per_second: float
    non_2xx: int
    errors: int
    p50_ms: float
    p99_ms: float
    raw: str


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    connections: int = 64,
    threads: int = 2,
    seconds: float = 10,
) -> WrkResult:
    cmd = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
    return WrkResult(
        requests_per_second=rps,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(g) for g in errors.groups()) if errors else 0,
        p50_ms=_ms(p50.group(1)) if p50 else float("nan"),
        p99_ms=_ms(p99.group(1)) if p99 else float("nan"),
        raw=out,
    )


PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def on_sqlite_and_postgres(
    service: str, label: str, timer: Callable[[str, str], Awaitable[None]]
) -> None:
    """Runs `timer(database_url, backend)` on a migrated temporary SQLite file, then on a
    migrated temporary PostgreSQL database (BENCH_DATABASE_URL, TEST_DATABASE_URL or the local
    server) that is dropped afterwards; PostgreSQL is skipped, with a line, when unreachable."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / (service + '.db')}"
        await asyncio.to_thread(upgrade, service, url)
        await timer(url, "sqlite")
    admin_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or PG_DEFAULT
    name = f"bench_{service}_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await asyncio.wait_for(conn.execute(text(f'CREATE DATABASE "{name}"')), 5)
    except (OSError, TimeoutError, SQLAlchemyError) as exc:  # not reachable: SQLite stands alone
        print(f"{label} postgresql: skipped ({type(exc).__name__})")
        await admin.dispose()
        return
    pg = f"{admin_url.rpartition('/')[0]}/{name}"
    try:
        await asyncio.to_thread(upgrade, service, pg)
        await timer(pg, "postgresql")
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
