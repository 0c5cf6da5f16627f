"""Events the service consumes (services/repairs/events.py)."""

from __future__ import annotations

from tests.common.identity_replica import factories as ie
from tests.repairs.factories import World, ticket_in


async def test_removed_staff_tickets_are_flagged_for_reassignment(world: World, app):
    tid = await ticket_in(world, "in_progress")
    other = await ticket_in(world, "assigned")
    await ie.deliver(app, "identity.staff.removed", {"community_id": world.cid, "account_id": world.crew_id, "staff_id": "s"})
    t = (await world.client.get(f"/repairs/{tid}", headers=world.manager)).json()
    assert t["needs_reassignment"] is True and t["timeline"][-1]["action"] == "flag"
    assert (await world.client.get(f"/repairs/{other}", headers=world.manager)).json()["needs_reassignment"]
    t = await world.ok(world.manager, tid, "assign", assignee_id=world.crew2_id)
    assert t["needs_reassignment"] is False and t["status"] == "assigned"
