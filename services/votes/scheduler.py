"""The scheduler task run in the app's lifespan: opens, closes and announces votes on time."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.common.periodic import periodic_hook
from services.votes import lifecycle


async def tick(app: FastAPI) -> int:
    """One pass in its own unit of work, at the app clock's now."""
    settings = app.state.settings
    async with app.state.sessionmaker() as session:
        changed = await lifecycle.run_due(
            session, app.state.clock.now(), timedelta(seconds=settings.closing_soon_seconds)
        )
        await session.commit()
    return changed


start_scheduler = periodic_hook("votes-scheduler", tick, first_pass_at_start=True)
