"""One writer at a time per SQLite database within a process.

SQLite lets one transaction write at a time; the others wait in SQLite's busy handler, which
sleeps in growing steps (up to 100 ms) and so turns fifty concurrent writers into seconds of
latency. Queuing them on an asyncio lock instead hands the database over without sleeping.
Every write transaction on SQLite takes it (db.py takes it at `BEGIN IMMEDIATE` and gives it
back at commit or rollback); `sqlite_writer` takes it around a whole block, and a transaction
begun inside that block by the same task does not take it twice. Other processes on the same
file still queue on `busy_timeout`. On PostgreSQL this is a no-op: rows are locked, not the
database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import await_

# (database URL, event loop) -> lock, and the task holding it.
_locks: dict[tuple[str, int], asyncio.Lock] = {}
_owners: dict[tuple[str, int], asyncio.Task[object] | None] = {}


def _key(url: str) -> tuple[str, int]:
    return (url, id(asyncio.get_running_loop()))


def _lock(key: tuple[str, int]) -> asyncio.Lock:
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = asyncio.Lock()
    return lock


@contextlib.asynccontextmanager
async def sqlite_writer(engine: AsyncEngine | None) -> AsyncIterator[None]:
    if engine is None or engine.dialect.name != "sqlite":
        yield
        return
    key = _key(str(engine.url))
    task = asyncio.current_task()
    if _owners.get(key) is task:
        yield
        return
    async with _lock(key):
        _owners[key] = task
        try:
            yield
        finally:
            _owners.pop(key, None)


def acquire_in_transaction(url: str) -> tuple[str, int] | None:
    """Called (synchronously, inside SQLAlchemy's greenlet) as a write transaction begins:
    waits for the lock unless this task holds it already; returns what to release, if any."""
    key = _key(url)
    task = asyncio.current_task()
    if _owners.get(key) is task:
        return None
    await_(_lock(key).acquire())
    _owners[key] = task
    return key


def release_in_transaction(key: tuple[str, int]) -> None:
    _owners.pop(key, None)
    _locks[key].release()
