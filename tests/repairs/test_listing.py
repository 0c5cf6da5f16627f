"""Ticket lists (services/repairs/listing.py) for owners, crews and managers, with cursor
pagination."""

from __future__ import annotations

from datetime import timedelta

from tests.common.identity_replica import factories as ie
from tests.repairs.factories import World
from tests.support import assert_error, auth, manager_token, token


async def test_lists_for_owner_crew_and_manager(world: World, app):

    mine = await world.ticket()
    app.state.clock.advance(seconds=1)
    family_public = await world.ticket(world.family, room_id=..., location="东门道闸", category="security", kind="complaint", photo_ids=[])
    app.state.clock.advance(seconds=1)
    neighbour_b = await ie.binding(app, world.cid, (await ie.room(app, world.cid, room_no="902"))["room_id"])
    neighbour = auth(token(neighbour_b["account_id"]))
    theirs = await world.ticket(neighbour, room_id=neighbour_b["room_id"], category="electricity")
    await world.drive(mine["id"], "assigned")

    async def ids(who, **params) -> list[str]:
        r = await world.client.get("/repairs", headers=who, params=params)
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["items"]]

    assert await ids(world.owner) == [mine["id"]]
    assert await ids(world.family) == [family_public["id"], mine["id"]]  # own + household's
    assert await ids(neighbour) == [theirs["id"]]
    assert await ids(world.crew, assignee="me") == [mine["id"]]
    assert await ids(world.crew2, assignee="me") == []
    assert await ids(world.crew, community_id=world.cid) == [mine["id"]]  # a crew sees its queue only
    everything = await ids(world.manager, community_id=world.cid)
    assert everything == [theirs["id"], family_public["id"], mine["id"]]
    assert await ids(world.manager, community_id=world.cid, status="assigned") == [mine["id"]]
    assert await ids(world.manager, community_id=world.cid, category="security") == [family_public["id"]]
    assert await ids(world.manager, community_id=world.cid, assignee=world.crew_id) == [mine["id"]]
    assert await ids(world.manager, community_id=world.cid, overdue=False) == everything
    t0 = app.state.clock.now()
    assert await ids(world.manager, community_id=world.cid, **{"from": (t0 - timedelta(hours=1)).isoformat(), "to": (t0 - timedelta(seconds=2)).isoformat()}) == []
    assert await ids(world.manager, community_id=world.cid, **{"from": (t0 - timedelta(seconds=2)).isoformat()}) == everything
    # Another community's manager sees none of it, asking for this community or not.
    outsider = auth(manager_token("elsewhere"))
    assert await ids(outsider, community_id=world.cid) == []
    r = await world.client.get("/repairs", headers=world.manager, params={"community_id": world.cid, "from": "2026-11-25T00:00:00"})
    assert_error(r, 400, "naive_datetime")
    assert_error(await world.client.get("/repairs", headers=world.manager, params={"status": "lost"}), 422)


async def test_cursor_pagination_walks_every_ticket_once(world: World, app):
    made = []
    for i in range(5):
        made.append((await world.ticket(category=["water", "electricity", "door_window", "elevator", "other"][i]))["id"])
        app.state.clock.advance(seconds=1 if i % 2 else 0)  # ties on created_at too
    seen, cursor = [], None
    while True:
        params = {"community_id": world.cid, "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await world.client.get("/repairs", headers=world.manager, params=params)).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 5
    assert_error(await world.client.get("/repairs", headers=world.manager, params={"cursor": "garbage"}), 400, "invalid_cursor")
