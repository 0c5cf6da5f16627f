"""The scheduler task in the app's lifespan (services/votes/scheduler.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from tests.common.identity_replica import factories as ie
from tests.support import client_for, running_app
from tests.votes.factories import (
    T0,
    create_vote,
    manager,
    open_vote,
)


async def test_scheduler_task_runs_in_the_lifespan(database_urls):

    cid = str(uuid.uuid4())
    async with running_app("votes", database_urls["votes"], scheduler_interval_seconds=0.02) as app, client_for(app) as c:
        app.state.clock.set(T0)
        await ie.room(app, cid)
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        app.state.clock.set(T0 + timedelta(days=8))
        for _ in range(100):
            await asyncio.sleep(0.02)
            r = await c.get(f"/votes/{vote['id']}", headers=manager(cid))
            if r.json()["status"] == "closed":
                break
        assert r.json()["status"] == "closed"
