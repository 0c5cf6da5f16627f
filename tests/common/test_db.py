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
