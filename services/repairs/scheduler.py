"""The service's background clock: every `scheduler_interval_seconds` it records SLA breaches
(emitting `repairs.ticket.overdue` once per breach) and auto-closes tickets resolved 7 days
ago. Time comes from `app.state.clock`, so tests move it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from fastapi import FastAPI

from services.repairs import service
from services.repairs.errors import ConcurrentChange
from services.repairs.settings import Settings

log = logging.getLogger("repairs.scheduler")


async def sweep(app: FastAPI) -> dict[str, int]:
    """One pass; each auto-close in its own transaction so one conflict does not undo others."""
    settings: Settings = app.state.settings
    now: datetime = app.state.clock()
    async with app.state.sessionmaker() as session:
        breaches = await service.mark_breaches(session, now)
        await session.commit()
    async with app.state.sessionmaker() as session:
        due = await service.due_for_auto_close(session, settings, now)
    closed = 0
    for ticket_id in due:
        async with app.state.sessionmaker() as session:
            try:
                if await service.auto_close(session, settings, ticket_id, now):
                    await session.commit()
                    closed += 1
            except ConcurrentChange:
                await session.rollback()  # someone confirmed or reopened it meanwhile
    return {"breaches": breaches, "auto_closed": closed}


async def start_scheduler(app: FastAPI) -> Callable[[], Awaitable[None]] | None:
    interval = app.state.settings.scheduler_interval_seconds
    if interval <= 0:
        return None

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await sweep(app)
            except Exception:  # the loop must outlive a failed pass (database restart, ...)
                log.exception("scheduler pass failed")

    task = asyncio.create_task(loop(), name="repairs-scheduler")

    async def stop() -> None:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    return stop
