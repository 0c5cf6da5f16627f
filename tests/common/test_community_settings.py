"""One community-settings table shape and upsert, shared by the services that keep settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import DeclarativeBase

from services.common.community_settings import CommunityConfigColumns, merge_settings, read_settings
from services.common.db import create_engine, create_sessionmaker, new_metadata

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


class _Base(DeclarativeBase):
    metadata = new_metadata()


class Config(CommunityConfigColumns, _Base):
    """The `community_configs` table as every service's migrations create it."""


async def test_defaults_until_set_then_merged_key_by_key(database_urls):
    engine = create_engine(database_urls["votes"])
    try:
        async with create_sessionmaker(engine)() as session:
            defaults = {"single_manager": False, "headcount": "unanimous"}
            assert await read_settings(session, Config, "c1", defaults) == defaults
            await merge_settings(session, Config, "c1", {"single_manager": True}, T0)
            await merge_settings(session, Config, "c1", {"extra": 1}, T0 + timedelta(minutes=1))
            await session.commit()
        async with create_sessionmaker(engine)() as session:
            assert await read_settings(session, Config, "c1", defaults) == {
                "single_manager": True, "headcount": "unanimous", "extra": 1,
            }
            row = await session.get(Config, "c1")
            assert row is not None and row.updated_at == T0 + timedelta(minutes=1)
            # Another community is untouched.
            assert await read_settings(session, Config, "c2", defaults) == defaults
    finally:
        await engine.dispose()


async def test_concurrent_first_writes_of_different_keys_both_land(database_urls):
    import asyncio

    engine = create_engine(database_urls["votes"])
    try:
        sessionmaker = create_sessionmaker(engine)

        async def put(values):
            async with sessionmaker() as session, session.begin():
                await merge_settings(session, Config, "c-race", values, T0)

        await asyncio.gather(*(put({f"key{n}": n}) for n in range(5)))
        async with sessionmaker() as session:
            assert await read_settings(session, Config, "c-race") == {f"key{n}": n for n in range(5)}
    finally:
        await engine.dispose()
