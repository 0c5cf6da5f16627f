"""A community's categories and their SLA (services/repairs/config.py)."""

from __future__ import annotations

from tests.repairs.factories import World, ticket_in
from tests.support import assert_error, auth, crew_token, manager_token


async def test_categories_are_configurable_per_community(world: World):
    r = await world.client.get(f"/communities/{world.cid}/repairs/config", headers=world.owner)
    assert [c["key"] for c in r.json()["categories"]][:3] == ["water", "electricity", "door_window"]
    body = {"categories": [{"key": "garden", "name": "绿化", "department": "cleaning", "resolve_minutes": 2880}]}
    assert (await world.client.put(f"/communities/{world.cid}/repairs/config", headers=world.owner, json=body)).status_code == 404
    r = await world.client.put(f"/communities/{world.cid}/repairs/config", headers=world.manager, json=body)
    assert r.status_code == 200, r.text
    t = await world.ticket(category="garden")
    assert t["department"] == "cleaning" and t["resolve_due_at"] == "2026-11-27T02:00:00Z"
    assert_error(await world.submit(category="water"), 422, "unknown_category")


async def test_only_a_manager_changes_the_categories(world: World):
    """Customer service runs the desk but does not manage the community: to them, as to a
    resident, the community's configuration is not there to change (the common answer)."""
    desk = auth(crew_token(world.cid, department="customer_service"))
    body = {"categories": [{"key": "garden", "name": "绿化", "department": "cleaning"}]}
    url = f"/communities/{world.cid}/repairs/config"
    for who in (desk, world.owner, world.crew):
        assert_error(await world.client.put(url, headers=who, json=body), 404, "community_not_found")
    r = await world.client.get(url, headers=desk)
    assert [c["key"] for c in r.json()["categories"]][0] == "water"


async def test_a_reopened_ticket_gets_the_categorys_sla_again(world: World, app):
    body = {"categories": [{"key": "water", "name": "水路", "department": "repair",
                            "arrive_minutes": 20, "resolve_minutes": 120}]}
    url = f"/communities/{world.cid}/repairs/config"
    assert (await world.client.put(url, headers=world.manager, json=body)).status_code == 200
    tid = await ticket_in(world, "resolved")
    app.state.clock.advance(hours=1)
    t = await world.ok(world.owner, tid, "reopen", note="还在漏")
    assert t["arrive_due_at"] == "2026-11-25T03:20:00Z" and t["resolve_due_at"] == "2026-11-25T05:00:00Z"


async def test_only_residents_and_staff_read_a_communitys_categories(world: World):
    """The form's categories are for those who may report there: another community's people,
    and an account with no binding, see no community at all (found by the BOLA matrix)."""
    url = f"/communities/{world.cid}/repairs/config"
    other = "other-community"
    for who in (world.stranger, auth(crew_token(other)), auth(manager_token(other))):
        assert_error(await world.client.get(url, headers=who), 404, "community_not_found")
    for who in (world.owner, world.family, world.crew, world.manager):
        assert (await world.client.get(url, headers=who)).status_code == 200
