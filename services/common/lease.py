"""A scheduler's lease: of several worker processes (or replicas) of one service sharing a
database, one runs a given scheduled pass at a time; the others skip that pass.

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection of its
  own, held for the pass and released after it (or by the server if the process dies).
- SQLite (the embedded default, one machine): an exclusive `flock` on a file next to the
  database file, released after the pass or by the kernel when the process dies.
- An in-memory SQLite database belongs to one process: always granted.

Never waits: a pass that does not get the lease is skipped, and the next one tries again.
Dispatchers need none of this: they claim rows with `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


def _lease_file(engine: AsyncEngine, name: str) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(f"{database}.{name}.lease")


@contextlib.asynccontextmanager
async def lease(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """`async with lease(engine, "votes-scheduler") as mine:` — `mine` says whether this
    process holds the lease for the block (False: another one is running the pass)."""
    if engine.dialect.name == "postgresql":
        key = f"lease:{name}"
        async with engine.connect() as conn:
            held = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": key}))
            await conn.commit()
            try:
                yield held
            finally:
                if held:
                    await conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": key})
                    await conn.commit()
        return
    path = _lease_file(engine, name)
    if path is None:
        yield True
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
