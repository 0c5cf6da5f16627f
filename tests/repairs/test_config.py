"""A community's categories and their SLA (services/repairs/config.py)."""

from __future__ import annotations

from tests.repairs.factories import World
from tests.support import assert_error


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
