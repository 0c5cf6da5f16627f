"""Concurrent conflicting transitions (one wins, the rest 409, the timeline stays whole), and
the SLA clocks and auto-close driven by the scheduler with a controllable clock."""

from __future__ import annotations

import asyncio

from services.repairs.scheduler import sweep
from tests.repairs.helpers import World
from tests.support import auth, manager_token


async def test_concurrent_conflicting_transitions_one_wins(world: World):
    tid = (await world.ticket())["id"]
    managers = [auth(manager_token(world.cid)) for _ in range(4)]
    results = await asyncio.gather(
        *(world.act(m, tid, "accept") for m in managers),
        # Cancels made against the version the residents saw conflict with any accept.
        world.act(world.owner, tid, "cancel", version=1),
        world.act(world.family, tid, "cancel", version=1),
    )
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 1 and codes.count(409) == 5, [r.text for r in results]
    for r in results:
        if r.status_code == 409:
            assert r.json()["error"]["code"] in ("transition_not_allowed", "concurrent_change")
    t = (await world.client.get(f"/repairs/{tid}", headers=world.manager)).json()
    assert [e["seq"] for e in t["timeline"]] == [1, 2]
    assert t["timeline"][1]["to_status"] == t["status"]
    assert len(await world.events("repairs.ticket.status_changed")) == 1


async def test_crew_start_races_the_residents_cancel(world: World):
    for _ in range(3):
        tid = (await world.ticket())["id"]
        await world.drive(tid, "assigned")
        results = await asyncio.gather(
            world.act(world.crew, tid, "start"),
            world.act(world.owner, tid, "cancel"),
            world.act(world.family, tid, "cancel"),
        )
        codes = [r.status_code for r in results]
        assert codes.count(200) == 1 and all(c in (200, 403, 409) for c in codes), codes
        winner = next(r.json() for r in results if r.status_code == 200)
        t = (await world.client.get(f"/repairs/{tid}", headers=world.manager)).json()
        assert t["status"] == winner["status"] in ("in_progress", "cancelled")
        assert [e["seq"] for e in t["timeline"]] == [1, 2, 3, 4]
        assert t["timeline"][-1]["to_status"] == t["status"]


async def test_concurrent_urges_count_once(world: World):
    tid = (await world.ticket())["id"]
    results = await asyncio.gather(*(world.act(world.owner, tid, "urge") for _ in range(5)))
    assert sorted(r.status_code for r in results).count(200) == 1
    assert all(r.status_code in (200, 409, 429) for r in results)


async def test_acknowledge_breach_is_recorded_and_announced_once(world: World, app):
    t = await world.ticket()
    prompt = await world.ticket(category="electricity")
    await world.ok(world.manager, prompt["id"], "accept")
    app.state.clock.advance(minutes=4, seconds=59)
    assert (await sweep(app))["breaches"] == 0
    app.state.clock.advance(seconds=2)
    assert (await sweep(app))["breaches"] == 1
    assert (await sweep(app))["breaches"] == 0  # once per breach
    [event] = await world.events("repairs.ticket.overdue")
    assert event == {
        "community_id": world.cid, "ticket_id": t["id"], "reporter_id": world.owner_id,
        "clock": "acknowledge", "deadline": "2026-11-25T02:05:00+00:00",
    }
    r = await world.client.get("/repairs", headers=world.manager, params={"community_id": world.cid, "overdue": True})
    assert [x["id"] for x in r.json()["items"]] == [t["id"]]
    # Arrive (60 min for water) and resolve (24 h) follow as the clock runs on.
    app.state.clock.advance(hours=1)
    await sweep(app)
    app.state.clock.advance(days=1)
    await sweep(app)
    clocks = [(e["ticket_id"], e["clock"]) for e in await world.events("repairs.ticket.overdue")]
    assert clocks.count((t["id"], "arrive")) == 1 and clocks.count((t["id"], "resolve")) == 1
    assert (prompt["id"], "acknowledge") not in clocks and (prompt["id"], "arrive") in clocks


async def test_a_late_step_between_sweeps_is_a_breach_too(world: World, app):
    t = await world.ticket()
    app.state.clock.advance(minutes=7)
    assert (await world.ok(world.manager, t["id"], "accept"))["overdue"] is True
    assert [e["clock"] for e in await world.events("repairs.ticket.overdue")] == ["acknowledge"]
    assert (await sweep(app))["breaches"] == 0
    cancelled = await world.ticket(category="electricity")
    app.state.clock.advance(minutes=7)
    assert (await world.ok(world.owner, cancelled["id"], "cancel"))["overdue"] is False


async def test_a_sweep_and_a_late_accept_announce_the_breach_once(world: World, app):
    for _ in range(3):
        t = await world.ticket()
        app.state.clock.advance(minutes=6)
        results = await asyncio.gather(sweep(app), world.act(world.manager, t["id"], "accept"))
        assert results[1].status_code in (200, 409)
        clocks = [e["clock"] for e in await world.events("repairs.ticket.overdue") if e["ticket_id"] == t["id"]]
        assert clocks == ["acknowledge"]


async def test_resolved_tickets_close_themselves_after_seven_days(world: World, app):
    tid = (await world.ticket())["id"]
    await world.drive(tid, "resolved")
    app.state.clock.advance(days=6, hours=23)
    assert (await sweep(app))["auto_closed"] == 0
    app.state.clock.advance(hours=1)
    assert (await sweep(app))["auto_closed"] == 1
    t = (await world.client.get(f"/repairs/{tid}", headers=world.owner)).json()
    assert t["status"] == "closed"
    last = t["timeline"][-1]
    assert (last["action"], last["actor_role"], last["actor_id"]) == ("auto_close", "system", None)
    assert (await world.events("repairs.ticket.status_changed"))[-1]["action"] == "auto_close"


async def test_the_scheduler_runs_in_the_lifespan(database_urls, tmp_path):
    from tests.repairs.helpers import make_world, repairs_app
    from tests.support import client_for

    async with (
        repairs_app(database_urls["repairs"], tmp_path, scheduler_interval_seconds=0.05) as app,
        client_for(app) as client,
    ):
        world = await make_world(app, client)
        await world.ticket()
        app.state.clock.advance(minutes=6)
        for _ in range(100):
            if await world.events("repairs.ticket.overdue"):
                break
            await asyncio.sleep(0.05)
        assert [e["clock"] for e in await world.events("repairs.ticket.overdue")] == ["acknowledge"]
