"""The community statistics (services/repairs/stats.py)."""

from __future__ import annotations

from datetime import timedelta

from services.repairs.scheduler import sweep
from tests.repairs.factories import World
from tests.support import assert_error


async def test_statistics_for_a_period(world: World, app):
    clock = app.state.clock
    start = clock.now()
    a = (await world.ticket())["id"]
    b = (await world.ticket(category="electricity"))["id"]
    c = (await world.ticket(category="elevator"))["id"]
    clock.advance(minutes=2)
    await world.ok(world.manager, a, "accept")
    clock.advance(minutes=8)
    await world.ok(world.manager, b, "accept")  # 10 min: acknowledge breached
    await world.ok(world.owner, c, "cancel")
    await sweep(app)
    for tid in (a, b):
        await world.ok(world.manager, tid, "assign", assignee_id=world.crew_id)
        await world.ok(world.crew, tid, "start")
    clock.advance(minutes=50)
    await world.ok(world.crew, a, "resolve", photo_ids=[await world.upload(world.crew)])
    clock.advance(minutes=60)
    await world.ok(world.crew, b, "resolve", photo_ids=[await world.upload(world.crew)])
    await world.ok(world.owner, a, "confirm", rating=5)
    await world.ok(world.owner, b, "reopen")
    await world.ok(world.crew, b, "start")
    await world.ok(world.crew, b, "resolve", photo_ids=[await world.upload(world.crew)])
    await world.ok(world.owner, b, "confirm", rating=2, comment="修了两次")
    clock.advance(days=40)
    await world.ticket()  # outside the period

    params = {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}
    r = await world.client.get(f"/communities/{world.cid}/repairs/stats", headers=world.manager, params=params)
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["total"] == 3 and s["from"] == "2026-11-25T02:00:00Z"
    assert s["by_status"]["closed"] == 2 and s["by_status"]["cancelled"] == 1 and s["by_status"]["submitted"] == 0
    assert s["by_category"] == {"electricity": 1, "elevator": 1, "water": 1}
    assert s["time_to_accept"] == {"count": 2, "median_seconds": 120, "p90_seconds": 600}
    assert s["time_to_resolve"] == {"count": 2, "median_seconds": 3600, "p90_seconds": 7200}
    assert s["overdue_share"] == round(1 / 3, 4)  # b was accepted 10 minutes after submit
    assert s["satisfaction_average"] == 3.5 and s["rated"] == 2
    assert s["reopen_rate"] == 0.5
    everything = (await world.client.get(f"/communities/{world.cid}/repairs/stats", headers=world.manager)).json()
    assert everything["total"] == 4
    for who in (world.owner, world.crew):
        assert_error(await world.client.get(f"/communities/{world.cid}/repairs/stats", headers=who), 404)


async def test_an_empty_period_answers_the_same_shape_with_nothing_in_it(world: World):
    r = await world.client.get(f"/communities/{world.cid}/repairs/stats", headers=world.manager)
    assert r.json() == {
        "community_id": world.cid, "from": None, "to": None, "total": 0,
        "by_status": {s: 0 for s in ("submitted", "accepted", "assigned", "in_progress",
                                     "on_hold", "resolved", "closed", "cancelled")},
        "by_category": {},
        "time_to_accept": {"count": 0, "median_seconds": None, "p90_seconds": None},
        "time_to_resolve": {"count": 0, "median_seconds": None, "p90_seconds": None},
        "overdue_share": None, "satisfaction_average": None, "rated": 0, "reopen_rate": None,
    }
