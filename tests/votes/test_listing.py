"""Listing votes a page at a time, and bad cursors (services/votes/listing.py)."""

from __future__ import annotations

import uuid

from tests.common.identity_replica import factories as ie
from tests.support import assert_error, client_for
from tests.votes.factories import (
    T0,
    create_vote,
    manager,
    open_vote,
    owner_of,
    survey_body,
    votes_app,
)


async def test_owners_list_votes_in_scope_managers_list_their_community(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        b1 = await ie.room(app, cid, building="1")
        b2 = await ie.room(app, cid, building="2")
        owner = await owner_of(app, cid, b1)
        mine = await create_vote(c, cid, scope={"building_ids": [b1["building_id"]]})
        theirs = await create_vote(c, cid, scope={"building_ids": [b2["building_id"]]})
        draft = await create_vote(c, cid)
        for v in (mine, theirs):
            await open_vote(c, cid, v)
        listed = (await c.get("/votes", headers=owner.headers)).json()
        assert [v["id"] for v in listed["items"]] == [mine["id"]]
        assert (await c.get(f"/votes/{theirs['id']}", headers=owner.headers)).status_code == 404
        page1 = (await c.get(f"/votes?community_id={cid}&limit=2", headers=manager(cid))).json()
        page2 = (await c.get(f"/votes?community_id={cid}&limit=2&cursor={page1['next_cursor']}", headers=manager(cid))).json()
        ids = {v["id"] for v in page1["items"] + page2["items"]}
        assert ids == {mine["id"], theirs["id"], draft["id"]} and page2["next_cursor"] is None
        drafts = (await c.get(f"/votes?community_id={cid}&status=draft", headers=manager(cid))).json()
        assert [v["id"] for v in drafts["items"]] == [draft["id"]]


async def test_garbage_cursors_and_ids_are_4xx_not_500(database_urls):
    import base64
    import json

    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        owner = await owner_of(app, cid, room)
        survey = (await c.post("/votes", json=survey_body(cid), headers=manager(cid))).json()
        await open_vote(c, cid, survey)
        bad = base64.urlsafe_b64encode(json.dumps(["not a time", "x"]).encode()).decode().rstrip("=")
        for cursor in ("%%%", bad, "W10"):
            r = await c.get(f"/votes?community_id={cid}&cursor={cursor}", headers=manager(cid))
            assert_error(r, 400, "invalid_cursor")
        assert (await c.get("/votes/" + "x" * 37, headers=manager(cid))).status_code in (404, 422)
        r = await c.get(f"/votes/{survey['id']}/results/rooms", headers=owner.headers)
        assert_error(r, 409, "no_room_results")
        r = await c.post(f"/votes/{survey['id']}/ballots", content=b"{not json", headers=owner.headers | {"content-type": "application/json"})
        assert r.status_code == 422
