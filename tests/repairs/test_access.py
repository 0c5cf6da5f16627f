"""Who sees a ticket (services/repairs/access.py): a role on it, or a 404."""

from __future__ import annotations

from tests import identity_events as ie
from tests.repairs.factories import World, ticket_in
from tests.support import assert_error, auth, crew_token, token


async def test_revoked_binding_loses_the_household_view(world: World, app):
    t = await world.ticket()
    tenant = await ie.binding(app, world.cid, world.room_id, relation="tenant")
    tenant_h = auth(token(tenant["account_id"]))
    assert (await world.client.get(f"/repairs/{t['id']}", headers=tenant_h)).status_code == 200
    await ie.revoke(app, tenant)
    assert (await world.client.get(f"/repairs/{t['id']}", headers=tenant_h)).status_code == 404


async def test_crew_cannot_touch_a_ticket_assigned_to_someone_else(world: World):
    tid = await ticket_in(world, "assigned")
    assert_error(await world.act(world.crew2, tid, "start"), 404, "ticket_not_found")
    assert_error(await world.client.get(f"/repairs/{tid}", headers=world.crew2), 404)


async def test_crew_who_left_lose_the_tickets_still_assigned_to_them(world: World, app):
    tid = await ticket_in(world, "assigned")
    assert (await world.client.get(f"/repairs/{tid}", headers=world.crew)).status_code == 200
    # Their refreshed token no longer carries the community's crew claim (identity bumped the
    # roles version, so the old token is refused); the ticket still names them as assignee.
    left = auth(token(world.crew_id))
    assert_error(await world.client.get(f"/repairs/{tid}", headers=left), 404, "ticket_not_found")
    assert_error(await world.act(left, tid, "start"), 404, "ticket_not_found")
    moved = auth(crew_token("another-community", account_id=world.crew_id))
    assert_error(await world.client.get(f"/repairs/{tid}", headers=moved), 404, "ticket_not_found")
    for who in (left, moved):
        r = await world.client.get("/repairs", headers=who, params={"assignee": "me"})
        assert r.status_code == 200 and r.json()["items"] == []


async def test_a_crew_queue_leaves_out_communities_the_replica_says_they_left(world: World, app):
    tid = await ticket_in(world, "assigned")
    r = await world.client.get("/repairs", headers=world.crew, params={"assignee": "me"})
    assert [t["id"] for t in r.json()["items"]] == [tid]
    await ie.deliver(app, "identity.staff.removed", {"community_id": world.cid, "account_id": world.crew_id, "staff_id": "s"})
    r = await world.client.get("/repairs", headers=world.crew, params={"assignee": "me"})
    assert r.status_code == 200 and r.json()["items"] == []
