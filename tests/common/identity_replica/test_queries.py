"""The identity replica's queries: rooms in scope, known buildings, staff (and their removal),
since when a person is bound to a room."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

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


async def test_a_binding_keeps_the_time_identity_verified_it(database_urls):
    cid = str(uuid.uuid4())
    async with running_app("repairs", database_urls["repairs"]) as app:
        r = await ie.room(app, cid)
        r2 = await ie.room(app, cid, room_no="102")
        owner = await ie.binding(app, cid, r["room_id"], verified_at="2026-11-20T08:00:00+08:00")
        # A redelivery from before identity sent the time keeps what the replica knew.
        await ie.deliver(app, "identity.binding.verified", {k: v for k, v in owner.items() if k != "verified_at"})
        # An earlier binding of the same person on the room counts from its own time.
        await ie.binding(app, cid, r["room_id"], owner["account_id"], verified_at="2026-11-21T00:00:00+00:00")
        await ie.binding(app, cid, r2["room_id"], owner["account_id"], verified_at="2026-11-22T00:00:00Z")
        async with app.state.sessionmaker() as s:
            since = await queries.bound_since(s, owner["account_id"])
            assert since == {
                r["room_id"]: datetime(2026, 11, 20, 0, 0, tzinfo=UTC),
                r2["room_id"]: datetime(2026, 11, 22, 0, 0, tzinfo=UTC),
            }
            assert await queries.bound_since(s, owner["account_id"], room_ids=[r2["room_id"]]) == {
                r2["room_id"]: datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
            }
        await ie.revoke(app, owner)
        async with app.state.sessionmaker() as s:
            assert set(await queries.bound_since(s, owner["account_id"], cid)) == {r["room_id"], r2["room_id"]}
