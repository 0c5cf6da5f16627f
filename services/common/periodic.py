"""Background tasks inside a service's lifespan: one pass every N seconds, and their stop.

Each pass runs under the service's lease (lease.py): with several worker processes or
replicas on one database, one of them runs a given pass and the others skip it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

from services.common.lease import lease

log = logging.getLogger("periodic")

Pass = Callable[[FastAPI], Awaitable[Any]]


def periodic_hook(
    name: str, run_pass: Pass, *, first_pass_at_start: bool
) -> Callable[[FastAPI], Awaitable[Callable[[], Awaitable[None]] | None]]:
    """A start-up hook running `run_pass(app)` every `settings.scheduler_interval_seconds`
    (0 or less: never). A failed pass is logged and the loop goes on: it must outlive a
    database restart. The hook returns the stop callable that cancels the task."""

    async def start(app: FastAPI) -> Callable[[], Awaitable[None]] | None:
        interval = app.state.settings.scheduler_interval_seconds
        if interval <= 0:
            return None

        async def loop() -> None:
            if not first_pass_at_start:
                await asyncio.sleep(interval)
            while True:
                try:
                    await run_leased(app, name, run_pass)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("scheduled pass failed", extra={"task": name})
                await asyncio.sleep(interval)

        task = asyncio.create_task(loop(), name=name)

        async def stop() -> None:
            await stop_task(task)

        return stop

    return start


async def run_leased(app: FastAPI, name: str, run_pass: Pass) -> bool:
    """One pass if this process gets the lease `name` (True), else nothing (False)."""
    async with lease(app.state.engine, name) as mine:
        if mine:
            await run_pass(app)
        return mine


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancels a background task and waits until it has ended (None: nothing to stop)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
