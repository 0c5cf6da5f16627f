"""Opening (the electorate snapshot), scheduling, closing and the scheduler's pass over due
votes (services/votes/lifecycle.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import select

from services.votes import scheduler
from services.votes.models import Ballot, Elector
from tests.common.identity_replica import factories as ie
from tests.support import assert_error, client_for
from tests.votes.factories import (
    T0,
    cast,
    count_rows,
    create_vote,
    manager,
    open_vote,
    outbox_events,
    owner_of,
    votes_app,
)


async def test_manager_runs_a_vote_owners_vote_and_results_follow_art_278(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        rooms = [await ie.room(app, cid, room_no=f"10{n}", area="100.00") for n in range(4)]
        owners = [await owner_of(app, cid, r) for r in rooms]
        vote = await create_vote(c, cid)
        assert vote["status"] == "draft" and [i["matter"] for i in vote["items"]] == ["major", "ordinary"]
        opened = await open_vote(c, cid, vote)
        assert opened["status"] == "open" and opened["opened_at"] is not None

        # 3 of 4 agree on the major motion (exactly 3/4), 2 of 3 participants agree on the ordinary one.
        assert (await cast(c, vote, owners[0], "agree", "agree")).status_code == 201
        assert (await cast(c, vote, owners[1], "agree", "agree")).status_code == 201
        assert (await cast(c, vote, owners[2], "agree", "disagree")).status_code == 201
        r = await c.get(f"/votes/{vote['id']}/results", headers=owners[0].headers)
        assert_error(r, 409, "results_not_available")

        r = await c.post(f"/votes/{vote['id']}/close", headers=manager(cid))
        assert r.status_code == 200 and r.json()["status"] == "closed"
        res = (await c.get(f"/votes/{vote['id']}/results", headers=owners[3].headers)).json()
        major, ordinary = res["motions"]
        assert res["final"] and res["electorate_rooms"] == 4 and res["ballots"] == 3
        assert major["participation"] == {"area": "300.00", "owners": "3", "area_ratio": "3/4", "owners_ratio": "3/4"}
        assert major["agreement"]["area_ratio"] == "1" and major["outcome"] == "passed"
        assert ordinary["agreement"] == {"area": "200.00", "owners": "2", "area_ratio": "2/3", "owners_ratio": "2/3"}
        assert ordinary["outcome"] == "passed"
        assert major["thresholds"] == {"quorum_area": ">= 2/3", "quorum_owners": ">= 2/3", "agree_area": ">= 3/4", "agree_owners": ">= 3/4"}

        events = await outbox_events(app, vote["id"])
        assert [e.type for e in events] == ["votes.vote.opened", "votes.vote.closed"]
        assert events[0].payload["building_ids"] is None and events[0].payload["kind"] == "vote"
        assert events[1].payload["results"]["motions"][0]["outcome"] == "passed"


async def test_electorate_snapshot_is_fixed_for_the_vote_life(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        a = await ie.room(app, cid, area="100.00")
        b = await ie.room(app, cid, room_no="102", area="50.50", state="unsold")
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        # The roster changes after opening: an area corrected, a room added.
        await ie.deliver(app, "identity.room.upserted", {**a, "area": "120.00"})
        late = await ie.room(app, cid, room_no="103", area="80.00")
        late_owner = await owner_of(app, cid, late)
        r = await cast(c, vote, late_owner, "agree")
        assert r.status_code == 404  # not in the electorate: the vote is not theirs
        async with app.state.sessionmaker() as s:
            snap = {e.room_id: (e.area_hundredths, e.state) for e in (await s.scalars(select(Elector))).all()}
        assert snap == {a["room_id"]: (10000, "delivered"), b["room_id"]: (5050, "unsold")}
        await c.post(f"/votes/{vote['id']}/close", headers=manager(cid))
        res = (await c.get(f"/votes/{vote['id']}/results", headers=manager(cid))).json()
        assert res["motions"][0]["total"] == {"area": "150.50", "owners": 2}


async def test_opening_with_no_rooms_in_scope_is_refused(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        vote = await create_vote(c, cid)
        r = await c.post(f"/votes/{vote['id']}/open", headers=manager(cid))
        assert_error(r, 409, "empty_electorate")
        assert (await c.get(f"/votes/{vote['id']}", headers=manager(cid))).json()["status"] == "draft"


async def test_scheduler_opens_and_closes_on_time(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        owner = await owner_of(app, cid, room)
        vote = await create_vote(
            c, cid, opens_at=(T0 + timedelta(hours=1)).isoformat(), closes_at=(T0 + timedelta(days=2)).isoformat()
        )
        r = await c.post(f"/votes/{vote['id']}/open", headers=manager(cid))
        assert r.json()["status"] == "scheduled"
        r = await c.patch(f"/votes/{vote['id']}", json={"title": "改"}, headers=manager(cid))
        assert_error(r, 409, "vote_not_editable")

        assert await scheduler.tick(app) == 0
        app.state.clock.advance(timedelta(hours=1))
        assert await scheduler.tick(app) == 1
        assert (await c.get(f"/votes/{vote['id']}", headers=owner.headers)).json()["status"] == "open"
        assert (await cast(c, vote, owner, "agree")).status_code == 201

        app.state.clock.advance(timedelta(hours=24))  # within a day of closing
        await scheduler.tick(app)
        app.state.clock.set(T0 + timedelta(days=2))
        await scheduler.tick(app)
        assert (await c.get(f"/votes/{vote['id']}", headers=owner.headers)).json()["status"] == "closed"
        events = await outbox_events(app, vote["id"])
        assert [e.type for e in events] == ["votes.vote.opened", "votes.vote.closing_soon", "votes.vote.closed"]
        res = (await c.get(f"/votes/{vote['id']}/results", headers=owner.headers)).json()
        assert res["motions"][0]["outcome"] == "passed"


async def test_closing_while_ballots_arrive_publishes_exactly_the_ballots_recorded(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        owners = [await owner_of(app, cid, await ie.room(app, cid, room_no=f"{n:03d}")) for n in range(20)]
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        answers = [{"item_id": i["id"], "option_ids": ["agree"]} for i in vote["items"]]

        async def ballot(o):
            return await c.post(f"/votes/{vote['id']}/ballots", json={"room_id": o.room_id, "answers": answers}, headers=o.headers)

        async def close():
            await asyncio.sleep(0.01)
            return await c.post(f"/votes/{vote['id']}/close", headers=manager(cid))

        *ballots, closed = await asyncio.gather(*(ballot(o) for o in owners), close())
        assert closed.status_code == 200
        accepted = [r for r in ballots if r.status_code == 201]
        assert all(r.status_code in (201, 409) for r in ballots)
        res = (await c.get(f"/votes/{vote['id']}/results", headers=owners[0].headers)).json()
        assert res["ballots"] == len(accepted) == await count_rows(app, Ballot)
