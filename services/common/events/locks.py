"""One writer at a time per SQLite database within a process.

SQLite lets one transaction write at a time; the others wait in SQLite's busy handler, which
sleeps in growing steps (up to 100 ms) and so turns fifty concurrent receivers into seconds of
latency. Queuing them on an asyncio lock instead hands the database over without sleeping.
On PostgreSQL this is a no-op: rows are locked, not the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine

_locks: dict[str, asyncio.Lock] = {}


@contextlib.asynccontextmanager
async def sqlite_writer(engine: AsyncEngine | None) -> AsyncIterator[None]:
    if engine is None or engine.dialect.name != "sqlite":
        yield
        return
    key = str(engine.url)
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = asyncio.Lock()
    async with lock:
        yield
