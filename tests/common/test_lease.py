"""Schedulers hold a lease (services/common/lease.py): of two processes sharing one database,
only one runs a scheduled pass at a time; the other skips it (advisory lock on PostgreSQL, a
file lock next to the database on SQLite)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from services.common.db import create_engine
from services.common.lease import lease
from services.common.periodic import run_leased


async def test_two_schedulers_never_run_one_pass_at_once(database_urls):
    # Two engines on one database: as two worker processes have.
    engines = [create_engine(database_urls["votes"]) for _ in range(2)]
    apps = [SimpleNamespace(state=SimpleNamespace(engine=e)) for e in engines]
    running = 0
    most = 0
    ran: list[int] = []
    release = asyncio.Event()

    def make_pass(n: int) -> Any:
        async def one_pass(_: Any) -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            ran.append(n)
            await release.wait()
            running -= 1

        return one_pass

    try:
        first = asyncio.create_task(run_leased(apps[0], "votes-scheduler", make_pass(0)))  # type: ignore[arg-type]
        while not ran:
            await asyncio.sleep(0.01)
        # While the first holds the lease, the second skips its tick.
        assert await run_leased(apps[1], "votes-scheduler", make_pass(1)) is False  # type: ignore[arg-type]
        # A different scheduler is not held up by it.
        async with lease(engines[1], "other-scheduler") as other:
            assert other is True
        release.set()
        assert await first is True
        # Once released, the other process gets the next tick.
        assert await run_leased(apps[1], "votes-scheduler", make_pass(1)) is True  # type: ignore[arg-type]
        assert ran == [0, 1] and most == 1
    finally:
        for engine in engines:
            await engine.dispose()


async def test_many_concurrent_ticks_run_one_at_a_time(database_urls):
    engines = [create_engine(database_urls["repairs"]) for _ in range(2)]
    apps = [SimpleNamespace(state=SimpleNamespace(engine=e)) for e in engines]
    running = 0
    most = 0

    async def one_pass(_: Any) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1

    try:
        results = await asyncio.gather(
            *(run_leased(apps[i % 2], "repairs-scheduler", one_pass) for i in range(6))  # type: ignore[arg-type]
        )
        assert most == 1
        assert results.count(True) >= 1
    finally:
        for engine in engines:
            await engine.dispose()
