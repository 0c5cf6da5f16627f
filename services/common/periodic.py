"""A background task that runs one pass every N seconds inside a service's lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

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
                    await run_pass(app)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("scheduled pass failed", extra={"task": name})
                await asyncio.sleep(interval)

        task = asyncio.create_task(loop(), name=name)

        async def stop() -> None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

        return stop

    return start
