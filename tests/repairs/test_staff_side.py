"""The staff side of repairs: accept-and-assign by rule, the department pool and its claim
race, the crew's queue, the desk's staff list, 代客报修, a ticket's conversation and the
per-crew statistics (issue 13, items 4-6)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from services.repairs.scheduler import sweep
from tests.common.identity_replica import factories as ie
from tests.repairs.factories import World, ticket_in
from tests.support import assert_error, auth, crew_token, manager_token, token


async def _rules(world: World, *rules: dict[str, Any], who: dict[str, str] | None = None):
    return await world.client.put(
        f"/communities/{world.cid}/repairs/assignment-rules",
        headers=who or world.manager, json={"rules": list(rules)},
    )


# --- dispatch -------------------------------------------------------------------------------


async def test_accept_assign_follows_the_category_rule_or_pools(world: World, app):
    r = await _rules(world, {"category": "water", "mode": "crew", "assignee_id": world.crew2_id},
                     {"category": "electricity", "mode": "pool"})
    assert r.status_code == 200, r.text
    assert {x["category"]: (x["mode"], x["assignee_name"]) for x in r.json()["rules"]} == {
        "water": ("crew", "李师傅"), "electricity": ("pool", None)
    }
    water = await world.ticket()
    t = await world.ok(world.manager, water["id"], "accept_assign")
    assert (t["status"], t["assignee_id"], t["pooled"]) == ("assigned", world.crew2_id, False)
    # Named by the desk: that person, whatever the rule says.
    named = await world.ticket()
    t = await world.ok(world.manager, named["id"], "accept_assign", assignee_id=world.crew_id)
    assert t["assignee_id"] == world.crew_id
    # A pool rule, and a category with no rule, leave it accepted in the pool.
    for category in ("electricity", "door_window"):
        pooled = await world.ticket(category=category, urgent=True)
        t = await world.ok(world.manager, pooled["id"], "accept_assign")
        assert (t["status"], t["assignee_id"], t["pooled"]) == ("accepted", None, True)
    changed = [e for e in await world.events("repairs.ticket.status_changed") if e["action"] == "accept_assign"]
    assert [(e["to_status"], e["pooled"], e["assignee_id"]) for e in changed] == [
        ("assigned", False, world.crew2_id), ("assigned", False, world.crew_id),
        ("accepted", True, None), ("accepted", True, None),
    ]
    assert changed[2]["department"] == "repair" and changed[2]["urgent"] is True
    assert changed[0]["previous_assignee_id"] is None


async def test_reassignment_names_the_previous_assignee(world: World):
    tid = await ticket_in(world, "assigned")
    await world.ok(world.manager, tid, "assign", assignee_id=world.crew2_id, note="改派")
    last = (await world.events("repairs.ticket.status_changed"))[-1]
    assert (last["previous_assignee_id"], last["assignee_id"]) == (world.crew_id, world.crew2_id)


async def test_assignment_rules_are_the_managers_and_name_active_crew_of_the_department(world: World, app):
    cleaner = await ie.staff(app, world.cid, role="crew", department="cleaning", name="赵阿姨")
    other = await ie.staff(app, "another-community", role="crew", department="repair")
    bad = [
        ({"category": "water", "mode": "crew", "assignee_id": world.owner_id}, 422, "assignee_not_found"),
        ({"category": "water", "mode": "crew", "assignee_id": world.manager_id}, 422, "assignee_not_found"),
        ({"category": "water", "mode": "crew", "assignee_id": other["account_id"]}, 422, "assignee_not_found"),
        ({"category": "water", "mode": "crew", "assignee_id": cleaner["account_id"]}, 422, "assignee_outside_department"),
        ({"category": "water", "mode": "crew"}, 422, "validation_error"),
        ({"category": "teleport", "mode": "pool"}, 422, "unknown_category"),
    ]
    for rule, status, code in bad:
        assert_error(await _rules(world, rule), status, code)
    customer_service = auth(crew_token(world.cid, department="customer_service"))
    assert_error(await _rules(world, {"category": "water", "mode": "pool"}, who=customer_service), 404, "community_not_found")
    assert_error(await _rules(world, {"category": "water", "mode": "pool"}, who=world.crew), 404, "community_not_found")
    r = await world.client.get(f"/communities/{world.cid}/repairs/assignment-rules", headers=world.manager)
    assert r.json() == {"rules": []}  # nothing was written
    # A rule whose crew member left falls back to refusing the step, not a silent pool.
    assert (await _rules(world, {"category": "water", "mode": "crew", "assignee_id": world.crew2_id})).status_code == 200
    await ie.deliver(app, "identity.staff.removed", {"community_id": world.cid, "account_id": world.crew2_id})
    t = await world.ticket()
    assert_error(await world.act(world.manager, t["id"], "accept_assign"), 422, "assignee_not_found")


# --- the pool -------------------------------------------------------------------------------


async def _pooled(world: World, **fields: Any) -> str:
    t = await world.ticket(**fields)
    assert (await world.ok(world.manager, t["id"], "accept_assign"))["pooled"] is True
    return str(t["id"])


async def test_crew_of_the_department_see_and_claim_the_pool(world: World, app):
    tid = await _pooled(world)
    pool = await world.client.get("/repairs", headers=world.crew, params={"assignee": "pool"})
    assert [t["id"] for t in pool.json()["items"]] == [tid]
    assert pool.json()["items"][0]["allowed_actions"] == ["claim"]
    cleaner = await ie.staff(app, world.cid, role="crew", department="cleaning")
    cleaner_h = auth(crew_token(world.cid, department="cleaning", account_id=cleaner["account_id"]))
    assert (await world.client.get("/repairs", headers=cleaner_h, params={"assignee": "pool"})).json()["items"] == []
    assert_error(await world.client.post(f"/repairs/{tid}/claim", headers=cleaner_h), 403, "not_in_department")
    for who in (world.owner, world.stranger, auth(crew_token("another-community")), world.manager):
        assert_error(await world.client.post(f"/repairs/{tid}/claim", headers=who), 404, "ticket_not_found")
    r = await world.client.post(f"/repairs/{tid}/claim", headers=world.crew)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["assignee_id"], r.json()["pooled"]) == ("assigned", world.crew_id, False)
    assert r.json()["allowed_actions"] == ["start"]
    assert_error(await world.client.post(f"/repairs/{tid}/claim", headers=world.crew2), 409, "already_claimed")
    last = (await world.events("repairs.ticket.status_changed"))[-1]
    assert (last["action"], last["to_status"], last["assignee_id"]) == ("claim", "assigned", world.crew_id)
    # Not pooled (accepted the old way): nothing to claim.
    plain = await ticket_in(world, "accepted")
    assert_error(await world.client.post(f"/repairs/{plain}/claim", headers=world.crew), 409, "already_claimed")


async def test_a_claim_race_has_one_winner(world: World):
    for _ in range(3):
        tid = await _pooled(world)
        before = await world.counts()
        a, b = await asyncio.gather(
            world.client.post(f"/repairs/{tid}/claim", headers=world.crew),
            world.client.post(f"/repairs/{tid}/claim", headers=world.crew2),
        )
        assert sorted([a.status_code, b.status_code]) == [200, 409], (a.text, b.text)
        loser = a if a.status_code == 409 else b
        assert_error(loser, 409, "already_claimed")
        winner = world.crew_id if a.status_code == 200 else world.crew2_id
        t = (await world.client.get(f"/repairs/{tid}", headers=world.manager)).json()
        assert t["assignee_id"] == winner
        assert await world.counts() == (before[0], before[1] + 1, before[2] + 1)  # one step, one event


# --- the crew's queue -----------------------------------------------------------------------


async def test_the_queue_is_open_work_soonest_deadline_first_with_breach_flags(world: World, app):
    slow = await ticket_in(world, "assigned")  # water: arrive 60 min
    app.state.clock.advance(minutes=1)
    fast = (await world.ticket(category="elevator"))["id"]  # arrive 30 min
    await world.ok(world.manager, fast, "accept_assign", assignee_id=world.crew_id)
    started = await ticket_in(world, "in_progress")  # resolve 24 h
    app.state.clock.advance(seconds=1)
    done = await ticket_in(world, "resolved")

    async def queue(**params: Any) -> list[dict[str, Any]]:
        r = await world.client.get("/repairs", headers=world.crew, params={"assignee": "me", **params})
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    items = await queue(status="open")
    assert [t["id"] for t in items] == [fast, slow, started]
    assert items[0]["next_due_at"] == items[0]["arrive_due_at"]
    assert items[2]["next_due_at"] == items[2]["resolve_due_at"]
    assert [t["id"] for t in await queue(status="open,resolved")] == [fast, slow, started, done]
    assert [t["id"] for t in await queue(status="in_progress")] == [started]
    # Paged, in the same order.
    r = await world.client.get("/repairs", headers=world.crew, params={"assignee": "me", "status": "open", "limit": 2})
    page2 = await world.client.get("/repairs", headers=world.crew, params={
        "assignee": "me", "status": "open", "limit": 2, "cursor": r.json()["next_cursor"]})
    assert [t["id"] for t in r.json()["items"] + page2.json()["items"]] == [fast, slow, started]
    # Due soon: the next deadline within the hour (or past).
    assert [t["id"] for t in await queue(status="open", due_soon=True)] == [fast, slow]
    app.state.clock.advance(minutes=40)
    flagged = {t["id"]: t["breaches"] for t in await queue(status="open")}
    # Past its arrive deadline before any sweep ran: flagged already.
    assert flagged[fast] == {"acknowledge": False, "arrive": True, "resolve": False}
    assert flagged[slow] == {"acknowledge": False, "arrive": False, "resolve": False}
    assert_error(await world.client.get("/repairs", headers=world.crew, params={"assignee": "me", "status": "lost"}), 422, "invalid_status_filter")
    assert await queue(status="open") and not (
        await world.client.get("/repairs", headers=world.crew2, params={"assignee": "me", "status": "open"})
    ).json()["items"]


async def test_the_desk_sees_crew_workloads_by_department(world: World, app):
    await ticket_in(world, "assigned")
    await ticket_in(world, "in_progress")
    await ticket_in(world, "resolved")  # not open: not counted
    await ie.staff(app, world.cid, role="crew", department="cleaning", name="赵阿姨")
    r = await world.client.get(f"/communities/{world.cid}/repairs/staff", headers=world.manager,
                               params={"department": "repair"})
    assert r.status_code == 200, r.text
    assert [(s["account_id"], s["open_tickets"], s["by_status"]) for s in r.json()] == [
        (world.crew2_id, 0, {"assigned": 0, "in_progress": 0, "on_hold": 0}),
        (world.crew_id, 2, {"assigned": 1, "in_progress": 1, "on_hold": 0}),
    ]
    everyone = await world.client.get(f"/communities/{world.cid}/repairs/staff", headers=world.manager)
    assert {s["department"] for s in everyone.json()} == {"repair", "cleaning"}
    for who in (world.crew, world.owner, auth(manager_token("another-community"))):
        assert_error(await world.client.get(f"/communities/{world.cid}/repairs/staff", headers=who), 404, "community_not_found")


# --- 代客报修 -------------------------------------------------------------------------------


async def test_the_desk_files_for_a_room_on_a_residents_behalf(world: World, app):
    r = await world.submit(world.manager, on_behalf=True, reporter_id=world.owner_id, photo_ids=[],
                           description="业主来电：卫生间漏水", contact_phone="13900139000")
    assert r.status_code == 201, r.text
    t = r.json()
    assert (t["source"], t["filed_by"], t["reporter_id"]) == ("staff", world.manager_id, world.owner_id)
    assert t["timeline"][0]["actor_role"] == "desk" and t["timeline"][0]["note"] == "代客报修"
    event = (await world.events("repairs.ticket.created"))[-1]
    assert (event["source"], event["filed_by"], event["room_id"]) == ("staff", world.manager_id, world.room_id)
    # The resident owns it: they see it in their list and confirm it later.
    mine = await world.client.get("/repairs", headers=world.owner)
    assert t["id"] in [x["id"] for x in mine.json()["items"]]
    # Without a named resident, the household still sees what was filed for their room.
    r = await world.submit(world.manager, on_behalf=True, photo_ids=[], contact_phone="13900139000")
    assert r.json()["reporter_id"] == world.manager_id
    assert (await world.client.get(f"/repairs/{r.json()['id']}", headers=world.family)).status_code == 200


async def test_filing_on_behalf_is_the_desks_and_checks_room_and_resident(world: World, app):
    before = await world.counts()
    other_room = await ie.room(app, "another-community", room_no="101")
    stranger_id = (await ie.binding(app, world.cid, (await ie.room(app, world.cid, room_no="909"))["room_id"]))["account_id"]
    cases = [
        (world.crew, {}, 404, "community_not_found"),
        (world.owner, {}, 404, "community_not_found"),
        (auth(manager_token("another-community")), {}, 404, "community_not_found"),
        (world.manager, {"room_id": other_room["room_id"]}, 422, "room_not_found"),
        (world.manager, {"reporter_id": stranger_id}, 422, "reporter_not_on_room"),
        (world.manager, {"contact_phone": ...}, 422, "phone_required"),
    ]
    for who, fields, status, code in cases:
        body = {"on_behalf": True, "photo_ids": [], "contact_phone": "13900139000", **fields}
        assert_error(await world.submit(who, **body), status, code)
    assert await world.counts() == before


# --- the conversation -----------------------------------------------------------------------


async def _comment(world: World, who: dict[str, str], tid: str, **body: Any):
    return await world.client.post(f"/repairs/{tid}/comments", headers=who, json=body)


async def test_staff_and_household_talk_on_a_ticket_and_internal_notes_stay_staff_only(world: World, app):
    tid = await ticket_in(world, "in_progress")
    photo = await world.upload(world.crew)
    r = await _comment(world, world.crew, tid, text="阀门需要更换，明天上午带配件来", photo_ids=[photo])
    assert r.status_code == 201, r.text
    assert (r.json()["author_side"], r.json()["author_name"], len(r.json()["photos"])) == ("staff", "王师傅", 1)
    app.state.clock.advance(seconds=1)
    secret = await world.upload(world.manager)
    r = await _comment(world, world.manager, tid, text="此户上次也报过，注意核查", internal=True, photo_ids=[secret])
    assert r.status_code == 201, r.text
    app.state.clock.advance(seconds=1)
    r = await _comment(world, world.family, tid, text="好的，明天上午家里有人")
    assert r.json()["author_side"] == "resident"

    async def texts(who: dict[str, str]) -> list[str]:
        got = await world.client.get(f"/repairs/{tid}/comments", headers=who)
        assert got.status_code == 200, got.text
        return [c["text"] for c in got.json()["items"]]

    assert await texts(world.manager) == ["阀门需要更换，明天上午带配件来", "此户上次也报过，注意核查", "好的，明天上午家里有人"]
    assert await texts(world.crew) == await texts(world.manager)
    assert await texts(world.owner) == ["阀门需要更换，明天上午带配件来", "好的，明天上午家里有人"]
    # The internal note's photo: staff open it, the household does not.
    assert (await world.client.get(f"/uploads/{secret}", headers=world.crew)).status_code == 200
    assert_error(await world.client.get(f"/uploads/{secret}", headers=world.owner), 404, "upload_not_found")
    assert (await world.client.get(f"/uploads/{photo}", headers=world.owner)).status_code == 200
    events = await world.events("repairs.ticket.commented")
    assert [(e["author_side"], e["internal"]) for e in events] == [("staff", False), ("staff", True), ("resident", False)]
    assert set(events[0]) == {
        "community_id", "ticket_id", "comment_id", "reporter_id", "room_id", "author_id",
        "author_side", "internal", "assignee_id", "department", "excerpt",
    }
    assert events[2]["assignee_id"] == world.crew_id and events[2]["excerpt"] == "好的，明天上午家里有人"


async def test_comments_refused_without_a_role_or_when_risky(world: World):
    tid = await ticket_in(world, "assigned")
    before = await world.counts()
    assert_error(await _comment(world, world.owner, tid, text="我也要内部备注", internal=True), 403, "internal_comment_not_allowed")
    for who in (world.stranger, world.crew2, auth(manager_token("another-community"))):
        assert_error(await _comment(world, who, tid, text="你好"), 404, "ticket_not_found")
        assert_error(await world.client.get(f"/repairs/{tid}/comments", headers=who), 404, "ticket_not_found")
    assert_error(await _comment(world, world.owner, tid, text="这里有违禁内容"), 422, "content_risky")
    assert_error(await _comment(world, world.owner, tid, text="   "), 422, "validation_error")
    foreign = await world.upload(world.crew)
    assert_error(await _comment(world, world.owner, tid, text="看图", photo_ids=[foreign]), 422, "photo_not_found")
    assert await world.counts() == before
    assert await world.events("repairs.ticket.commented") == []


# --- statistics ------------------------------------------------------------------------------


async def test_crew_statistics_for_the_manager(world: World, app):
    for minutes in (10, 30):
        t = (await world.ticket())["id"]
        app.state.clock.advance(minutes=2)
        await world.ok(world.manager, t, "accept_assign", assignee_id=world.crew_id)
        app.state.clock.advance(minutes=minutes)
        await world.ok(world.crew, t, "start")
        app.state.clock.advance(minutes=minutes)
        await world.ok(world.crew, t, "resolve", photo_ids=[await world.upload(world.crew)])
        await world.ok(world.owner, t, "confirm", rating=4 if minutes == 10 else 2)
    late = (await world.ticket(category="elevator"))["id"]
    app.state.clock.advance(minutes=6)
    await world.ok(world.manager, late, "accept_assign", assignee_id=world.crew2_id)
    r = await world.client.get(f"/communities/{world.cid}/repairs/stats/crew", headers=world.manager)
    assert r.status_code == 200, r.text
    crew = {c["account_id"]: c for c in r.json()["crew"]}
    me = crew[world.crew_id]
    assert (me["assigned"], me["handled"], me["rated"], me["rating_average"]) == (2, 2, 2, 3.0)
    assert me["time_to_acknowledge"] == {"count": 2, "median_seconds": 120, "p90_seconds": 120}
    assert me["time_to_arrive"] == {"count": 2, "median_seconds": 720, "p90_seconds": 1920}
    assert me["time_to_complete"] == {"count": 2, "median_seconds": 1320, "p90_seconds": 3720}
    assert me["breaches"] == {"acknowledge": 0, "arrive": 0, "resolve": 0}
    other = crew[world.crew2_id]
    assert (other["assigned"], other["handled"], other["breaches"]["acknowledge"]) == (1, 0, 1)
    assert other["name"] == "李师傅" and other["department"] == "repair"
    [dept] = r.json()["departments"]
    assert (dept["department"], dept["assigned"], dept["time_to_acknowledge"]["count"]) == ("repair", 3, 3)
    t0 = app.state.clock.now()
    later = await world.client.get(f"/communities/{world.cid}/repairs/stats/crew", headers=world.manager,
                                   params={"from": (t0 + timedelta(hours=1)).isoformat()})
    assert later.json()["crew"] == [] and later.json()["departments"] == []
    for who in (world.crew, auth(crew_token(world.cid, department="customer_service")), auth(manager_token("another-community"))):
        assert_error(await world.client.get(f"/communities/{world.cid}/repairs/stats/crew", headers=who), 404, "community_not_found")


# --- overdue, once -------------------------------------------------------------------------------


async def test_concurrent_sweeps_announce_each_breach_once(world: World, app):
    tid = await ticket_in(world, "assigned")
    app.state.clock.advance(days=2)
    results = await asyncio.gather(sweep(app), sweep(app), sweep(app))
    assert sum(r["breaches"] for r in results) == 2  # arrive and resolve (acknowledged in time)
    events = [e for e in await world.events("repairs.ticket.overdue") if e["ticket_id"] == tid]
    assert sorted(e["clock"] for e in events) == ["arrive", "resolve"]
    assert {(e["department"], e["assignee_id"]) for e in events} == {("repair", world.crew_id)}


async def test_a_token_without_staff_claims_cannot_pull_the_queue_of_a_crew_id(world: World):
    # `assignee=me` is the caller; a resident passing someone's id gets their own list.
    await ticket_in(world, "assigned")
    r = await world.client.get("/repairs", headers=auth(token(world.owner_id)), params={"assignee": world.crew_id})
    assert all(t["reporter_id"] == world.owner_id for t in r.json()["items"])
