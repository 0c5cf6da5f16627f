"""The identity replica's queries: rooms in scope, known buildings, staff (and their removal)."""

from __future__ import annotations

import uuid

from services.common.identity_replica import queries
from tests.common.identity_replica import factories as ie
from tests.support import running_app


async def test_scope_by_building_and_staff_removal(database_urls):
    cid = str(uuid.uuid4())
    async with running_app("votes", database_urls["votes"]) as app:
        a = await ie.room(app, cid, building="1")
        await ie.room(app, cid, building="2", room_no="201")
        rooms = None
        async with app.state.sessionmaker() as s:
            rooms = await queries.rooms_in_scope(s, cid, [a["building_id"]])
            assert [x.room_id for x in rooms] == [a["room_id"]]
            assert len(await queries.known_building_ids(s, cid)) == 2
        crew = await ie.staff(app, cid)
        async with app.state.sessionmaker() as s:
            assert (await queries.staff_member(s, cid, crew["account_id"])).department == "repair"
        await ie.deliver(app, "identity.staff.removed", {k: crew[k] for k in ("community_id", "account_id", "staff_id")})
        async with app.state.sessionmaker() as s:
            assert await queries.staff_member(s, cid, crew["account_id"]) is None
