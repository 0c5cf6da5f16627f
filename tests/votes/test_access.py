"""Who sees a vote and what: the caller's rooms and ballot status, drafts and results
visibility (services/votes/access.py)."""

from __future__ import annotations

import uuid

from tests.common.identity_replica import factories as ie
from tests.support import assert_error, client_for
from tests.votes.factories import (
    T0,
    cast,
    create_vote,
    manager,
    open_vote,
    owner_of,
    votes_app,
)


async def test_owner_of_several_rooms_sees_each_room_and_its_ballot_status(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        r1 = await ie.room(app, cid, room_no="101", owner_key="wang")
        r2 = await ie.room(app, cid, room_no="102", owner_key="wang")
        owner = await owner_of(app, cid, r1)
        await owner_of(app, cid, r2, account_id=owner.account_id)
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        assert (await cast(c, vote, owner, "agree")).status_code == 201
        detail = (await c.get(f"/votes/{vote['id']}", headers=owner.headers)).json()
        rooms = {room["room_id"]: room for room in detail["my_rooms"]}
        assert rooms[r1["room_id"]]["ballot"]["cast_by_me"] is True
        assert rooms[r2["room_id"]]["ballot"] is None and rooms[r2["room_id"]]["can_vote"] is True
        assert rooms[r1["room_id"]]["area"] == "89.50"
        assert "electorate_rooms" not in detail or detail["electorate_rooms"] is None


async def test_ballot_before_opening_and_results_visibility(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        owner = await owner_of(app, cid, room)
        vote = await create_vote(c, cid)
        # A draft is the manager's only.
        assert (await c.get(f"/votes/{vote['id']}", headers=owner.headers)).status_code == 404
        r = await c.post(
            f"/votes/{vote['id']}/ballots",
            json={"room_id": room["room_id"], "answers": []},
            headers=manager(cid),
        )
        assert_error(r, 409, "vote_not_open")
        # Foreign managers see nothing.
        assert (await c.get(f"/votes/{vote['id']}", headers=manager(str(uuid.uuid4())))).status_code == 404
        assert (await c.post(f"/votes/{vote['id']}/open", headers=manager(str(uuid.uuid4())))).status_code == 404

        await open_vote(c, cid, vote)
        await cast(c, vote, owner, "agree")
        r = await c.get(f"/votes/{vote['id']}/results", headers=manager(cid))
        assert r.status_code == 409  # live counts not allowed by this vote
        live = await create_vote(c, cid, live_results=True)
        await open_vote(c, cid, live)
        await cast(c, live, owner, "disagree")
        r = await c.get(f"/votes/{live['id']}/results", headers=manager(cid))
        assert r.status_code == 200 and r.json()["final"] is False
        assert r.json()["motions"][0]["options"]["disagree"]["area"] == "89.50"
        assert (await c.get(f"/votes/{live['id']}/results", headers=owner.headers)).status_code == 409
