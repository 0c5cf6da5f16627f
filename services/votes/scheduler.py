"""The scheduler task run in the app's lifespan: opens, closes and announces votes on time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import FastAPI

from services.votes import service

log = logging.getLogger("votes.scheduler")


async def tick(app: FastAPI) -> int:
    """One pass in its own unit of work, at the app clock's now."""
    settings = app.state.settings
    async with app.state.sessionmaker() as session:
        changed = await service.run_due(
            session, app.state.clock.now(), timedelta(seconds=settings.closing_soon_seconds)
        )
        await session.commit()
    return changed


async def start_scheduler(app: FastAPI) -> Callable[[], Awaitable[None]] | None:
    interval = app.state.settings.scheduler_interval_seconds
    if interval <= 0:
        return None

    async def loop() -> None:
        while True:
            try:
                await tick(app)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler tick failed")
            await asyncio.sleep(interval)

    task = asyncio.create_task(loop(), name="votes-scheduler")

    async def stop() -> None:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    return stop
