"""SLA clocks and auto-close (services/repairs/sla.py), driven by the scheduler with the
app's clock moved by the test."""

from __future__ import annotations

import asyncio

from services.repairs.scheduler import sweep
from tests.repairs.factories import World, make_world, repairs_app
from tests.support import client_for


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
        "department": "repair", "assignee_id": None, "reopen_count": 0,
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
