"""The community's tally settings and their freezing into a vote (services/votes/community.py)."""

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


async def test_community_settings_are_frozen_into_a_vote_when_it_opens(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        rooms = [await ie.room(app, cid, room_no=f"10{n}", area="100.00") for n in range(3)]
        owner = await owner_of(app, cid, rooms[0])
        r = await c.get(f"/votes/settings/{cid}", headers=manager(cid))
        assert r.json() == {"multi_room_headcount": "unanimous", "non_voters_follow_majority": False}
        assert_error(await c.get(f"/votes/settings/{cid}", headers=owner.headers), 404, "community_not_found")
        r = await c.put(f"/votes/settings/{cid}", json={"non_voters_follow_majority": True}, headers=manager(cid))
        assert r.status_code == 200 and r.json()["non_voters_follow_majority"] is True
        bad = await c.put(f"/votes/settings/{cid}", json={"multi_room_headcount": "loudest"}, headers=manager(cid))
        assert bad.status_code == 422

        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        await c.put(f"/votes/settings/{cid}", json={"non_voters_follow_majority": False}, headers=manager(cid))
        await cast(c, vote, owner, "agree")
        await c.post(f"/votes/{vote['id']}/close", headers=manager(cid))
        res = (await c.get(f"/votes/{vote['id']}/results", headers=owner.headers)).json()
        assert res["settings"]["non_voters_follow_majority"] is True
        assert res["motions"][0]["deemed"] == {"area": "200.00", "owners": "2"}
        assert res["motions"][0]["outcome"] == "passed"
