"""Who sees a ticket (services/repairs/access.py): a role on it, or a 404."""

from __future__ import annotations

from tests.common.identity_replica import factories as ie
from tests.repairs.factories import World, ticket_in
from tests.support import assert_error, auth, token


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
