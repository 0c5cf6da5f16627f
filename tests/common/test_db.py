"""The unit of work on SQLite: read-only requests take no lock, so they never queue behind a
writer; everything else takes the write lock at BEGIN."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from services.common.db import (
    READ_ONLY_OPTION,
    ReadOnlyRequestWrote,
    create_engine,
    create_sessionmaker,
)
from tests.identity.factories import identity, login
from tests.support import TEST_DATABASE_URL, auth

sqlite_only = pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="SQLite's locking only")


@sqlite_only
async def test_a_read_answers_while_a_writer_holds_the_lock_and_a_write_waits(database_urls):
    async with identity(database_urls) as (app, c, fake):
        me = await login(c, fake, "o-reader")
        async with app.state.engine.connect() as writer:
            await writer.begin()  # BEGIN IMMEDIATE: a slow login or roster import, say
            read = await asyncio.wait_for(c.get("/me", headers=auth(me["access_token"])), 2)
            assert read.status_code == 200
            write = asyncio.create_task(c.delete("/me", headers=auth(me["access_token"])))
            await asyncio.sleep(0.3)
            assert not write.done()  # queued on the write lock, as it must be
            await writer.rollback()
        assert (await asyncio.wait_for(write, 5)).status_code == 204


@sqlite_only
async def test_a_write_in_a_read_only_unit_of_work_is_a_programming_error(database_urls):
    engine = create_engine(database_urls["identity"])
    try:
        async with create_sessionmaker(engine)() as session:
            await session.connection(execution_options={READ_ONLY_OPTION: True})
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
            with pytest.raises(ReadOnlyRequestWrote):
                await session.execute(text("DELETE FROM login_failures"))
    finally:
        await engine.dispose()


async def _probe_engine(url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(url, pool_size=10, max_overflow=0)
    # Connections opened beforehand: a writer's turn is its arrival at BEGIN, not at connect.
    warm = [await engine.connect() for _ in range(8)]
    for conn in warm:
        await conn.close()
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS queue_probe (n INTEGER)"))
    return engine


@sqlite_only
async def test_writers_queue_in_arrival_order_one_at_a_time(database_urls):
    """Writers of one file in one process wait their turn in order (sqlite_driver.WriterQueue),
    instead of sleeping in SQLite's busy handler and winning in whatever order they retry."""
    engine = await _probe_engine(database_urls["identity"])
    entered: list[int] = []
    inside = 0
    most_inside = 0

    async def writer(n: int) -> None:
        nonlocal inside, most_inside
        async with engine.begin() as conn:
            entered.append(n)
            inside += 1
            most_inside = max(most_inside, inside)
            await conn.execute(text("INSERT INTO queue_probe (n) VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.02)  # work between statements, as a request does
            inside -= 1

    tasks = []
    for n in range(8):
        tasks.append(asyncio.create_task(writer(n)))
        await asyncio.sleep(0.005)
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert entered == list(range(8)) and most_inside == 1
    await engine.dispose()


@sqlite_only
async def test_a_rolled_back_writer_hands_its_turn_on(database_urls):
    from services.common.sqlite_driver import WriterQueue

    engine = await _probe_engine(database_urls["identity"])
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO queue_probe (n) VALUES (1)"))
            raise RuntimeError("a handler failed")
    database = engine.url.database or ""
    assert not WriterQueue.lock_for(database).locked()
    async with engine.begin() as conn:  # the next writer goes straight in
        await asyncio.wait_for(conn.execute(text("INSERT INTO queue_probe (n) VALUES (2)")), 2)
    await engine.dispose()


@sqlite_only
async def test_a_writer_that_waits_too_long_is_told_the_database_is_locked(database_urls, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from services.common import sqlite_driver

    monkeypatch.setattr(sqlite_driver, "WRITER_QUEUE_TIMEOUT_SECONDS", 0.2)
    engine = await _probe_engine(database_urls["identity"])
    async with engine.connect() as holder:
        await holder.begin()
        await holder.execute(text("INSERT INTO queue_probe (n) VALUES (1)"))
        with pytest.raises(OperationalError, match="database is locked"):
            async with engine.begin() as conn:
                await asyncio.wait_for(conn.execute(text("INSERT INTO queue_probe (n) VALUES (2)")), 3)
        await holder.rollback()
    async with engine.begin() as conn:  # the queue is free again
        await conn.execute(text("INSERT INTO queue_probe (n) VALUES (3)"))
    await engine.dispose()
