"""Backfill snapshots (services/identity/snapshots.py): the same payloads as the events."""

from __future__ import annotations

from services.identity import snapshots
from tests.identity.factories import bind, identity, login, outbox, room_id, setup_community
from tests.support import auth, manager_token


async def test_snapshots_page_through_the_same_payloads_as_the_events(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        me = await login(c, fake, "o-snap")
        await bind(c, me["access_token"], await room_id(c, cid, "1栋101", me["access_token"]))
        await c.post(
            f"/communities/{cid}/staff",
            json={"username": "m1", "password": "password-1", "name": "经理", "phone": "13600000004", "role": "manager"},
            headers=auth(manager_token(cid)),
        )
        async with app.state.sessionmaker() as s:
            page1, cursor = await snapshots.rooms(s, None, 1, community_id=cid)
            page2, end = await snapshots.rooms(s, cursor, 1, community_id=cid)
            assert end is None or (await snapshots.rooms(s, end, 1, community_id=cid))[0] == []
            rooms = page1 + page2
            bound, _ = await snapshots.verified_bindings(s, community_id=cid)
            staff, _ = await snapshots.staff(s)
            communities, _ = await snapshots.communities(s)
        by_id = {e.payload["room_id"]: e.payload for e in await outbox(app, "identity.room.upserted")}
        assert sorted(rooms, key=lambda p: p["room_id"]) == sorted(by_id.values(), key=lambda p: p["room_id"])
        assert bound == [e.payload for e in await outbox(app, "identity.binding.verified")]
        assert staff == [e.payload for e in await outbox(app, "identity.staff.upserted")]
        assert communities == [e.payload for e in await outbox(app, "identity.community.created")]
        for name, (_fn, event_type, key_field) in snapshots.STREAMS.items():
            for event in await outbox(app, event_type):
                assert event.ordering_key == event.payload[key_field], name
