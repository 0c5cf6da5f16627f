"""The ticket's life through POST /repairs/{id}/transitions (services/repairs/transitions.py):
every step of the table through the app, who may take it, what each step needs, the timeline
and the events, and concurrent conflicting steps (one wins, the rest 409, the timeline stays
whole)."""

from __future__ import annotations

import asyncio

import pytest

from services.repairs import rules
from tests.common.identity_replica import factories as ie
from tests.repairs.factories import World, ticket_in
from tests.support import assert_error, auth, crew_token, manager_token


async def test_whole_loop_owner_manager_crew(world: World):
    t = await world.ticket()
    tid = t["id"]
    await world.drive(tid, "closed")
    r = await world.client.get(f"/repairs/{tid}", headers=world.owner)
    body = r.json()
    assert body["status"] == "closed" and body["rating"] == 5 and body["rating_comment"] == "很及时"
    steps = [(e["action"], e["actor_role"], e["from_status"], e["to_status"]) for e in body["timeline"]]
    assert steps == [
        ("submit", "reporter", None, "submitted"),
        ("accept", "desk", "submitted", "accepted"),
        ("assign", "desk", "accepted", "assigned"),
        ("start", "assignee", "assigned", "in_progress"),
        ("hold", "assignee", "in_progress", "on_hold"),
        ("resume", "assignee", "on_hold", "in_progress"),
        ("resolve", "assignee", "in_progress", "resolved"),
        ("confirm", "reporter", "resolved", "closed"),
    ]
    assert body["timeline"][4]["note"] == "等待配件"
    assert body["assignee_name"] == "王师傅"
    names = [e["actor_name"] for e in body["timeline"]]
    assert names[0] == "1栋101李明" and names[3] == "王师傅"  # the replica's display names
    assert len(body["timeline"][6]["photos"]) == 1  # completion photo
    changed = await world.events("repairs.ticket.status_changed")
    assert [(e["from_status"], e["to_status"], e["action"]) for e in changed] == [s[2:] + (s[0],) for s in steps[1:]]
    assert changed[1]["assignee_id"] == world.crew_id and changed[0]["ticket_id"] == tid
    assert set(changed[0]) == {
        "community_id", "ticket_id", "reporter_id", "room_id", "from_status", "to_status",
        "action", "assignee_id", "note", "previous_assignee_id", "department", "urgent", "pooled",
    }


# Who of the world can reach each role: the roles' tokens.
def people(world: World) -> dict[str, dict[str, str]]:
    return {"reporter": world.owner, "household": world.family, "desk": world.manager, "assignee": world.crew}


def fields_for(action: str, world: World) -> dict:
    return {
        "assign": {"assignee_id": world.crew_id},
        "accept_assign": {"assignee_id": world.crew_id},
        "hold": {"note": "等待配件"},
        "cancel": {"note": "业主已自行处理"},
        "confirm": {"rating": 4, "comment": "好"},
    }.get(action, {})


STATUSES = ("submitted", "accepted", "assigned", "in_progress", "on_hold", "resolved", "closed", "cancelled")


def expected(status: str, action: str, role: str) -> tuple[int, str]:
    """(HTTP status, error code or the new ticket status) the table implies for one row."""
    rule = rules.TRANSITIONS.get((status, action))
    # The crew member sees the ticket only once it is assigned to them.
    if role == "assignee" and status in ("submitted", "accepted", "cancelled"):
        return 404, "ticket_not_found"
    if rule is None:
        return 409, "transition_not_allowed"
    if role not in rule.roles:
        return 403, "action_not_allowed"
    return 200, rule.to


@pytest.mark.parametrize("status", STATUSES)
async def test_every_row_of_the_table_through_the_app(world: World, status):
    """Each (action, role) from `status`, on a ticket in that status: a refused row changes
    nothing; an allowed one moves the ticket and adds one timeline entry and one event (and
    the next row gets a fresh ticket)."""
    tid = await ticket_in(world, status)
    for action in rules.USER_ACTIONS:
        for role in ("reporter", "household", "desk", "assignee"):
            who = people(world)[role]
            extra = fields_for(action, world)
            if action == "resolve" and role == "assignee":
                extra = {"photo_ids": [await world.upload(who)]}
            code, outcome = expected(status, action, role)
            before = await world.counts()
            r = await world.act(who, tid, action, **extra)
            row = f"{status} {action} {role}"
            assert r.status_code == code, (row, r.text)
            if code == 200:
                assert r.json()["status"] == outcome, row
                assert r.json()["timeline"][-1]["action"] == action, row
                after = await world.counts()
                assert after == (before[0], before[1] + 1, before[2] + 1), row
                tid = await ticket_in(world, status)
            else:
                assert_error(r, code, outcome)
                assert await world.counts() == before, row


async def test_step_requirements(world: World):
    tid = await ticket_in(world, "in_progress")
    assert_error(await world.act(world.crew, tid, "hold"), 422, "reason_required")
    assert_error(await world.act(world.crew, tid, "resolve"), 422, "photo_required")
    foreign_photo = await world.upload(world.owner)
    assert_error(await world.act(world.crew, tid, "resolve", photo_ids=[foreign_photo]), 422, "photo_not_found")
    assert_error(await world.act(world.manager, tid, "cancel"), 422, "reason_required")
    await world.ok(world.crew, tid, "resolve", photo_ids=[await world.upload(world.crew)])
    for rating in (0, 6):
        assert_error(await world.act(world.owner, tid, "confirm", rating=rating), 422, "validation_error")
    assert_error(await world.act(world.owner, tid, "confirm"), 422, "rating_required")
    assert_error(await world.act(world.owner, tid, "teleport"), 422, "validation_error")
    assert (await world.client.get(f"/repairs/{tid}", headers=world.owner)).json()["status"] == "resolved"


async def test_assign_only_to_active_staff_of_the_community(world: World, app):
    tid = await ticket_in(world, "accepted")
    assert_error(await world.act(world.manager, tid, "assign"), 422, "assignee_required")
    assert_error(await world.act(world.manager, tid, "assign", assignee_id=world.owner_id), 422, "assignee_not_found")
    other = await ie.staff(app, "another-community", role="crew")
    assert_error(await world.act(world.manager, tid, "assign", assignee_id=other["account_id"]), 422, "assignee_not_found")
    await world.ok(world.manager, tid, "assign", assignee_id=world.crew_id)
    t = await world.ok(world.manager, tid, "assign", assignee_id=world.crew2_id, note="改派李师傅")
    assert t["assignee_id"] == world.crew2_id and t["status"] == "assigned"
    assert_error(await world.act(world.crew, tid, "start"), 404)
    await world.ok(world.crew2, tid, "start")


async def test_customer_service_staff_act_like_managers(world: World):
    desk = auth(crew_token(world.cid, department="customer_service"))
    tid = (await world.ticket())["id"]
    await world.ok(desk, tid, "accept")
    await world.ok(desk, tid, "assign", assignee_id=world.crew_id)


async def test_reopen_goes_back_to_the_crew_and_is_counted(world: World):
    tid = await ticket_in(world, "resolved")
    t = await world.ok(world.family, tid, "reopen", note="还在漏")
    assert t["status"] == "assigned" and t["reopen_count"] == 1 and t["assignee_id"] == world.crew_id
    await world.ok(world.crew, tid, "start")


async def test_urge_once_per_ten_minutes(world: World, app):
    tid = (await world.ticket())["id"]
    await world.ok(world.owner, tid, "urge")
    app.state.clock.advance(minutes=9)
    before = await world.counts()
    err = assert_error(await world.act(world.family, tid, "urge"), 429, "urge_too_soon")
    assert "10 分钟" in err["message"]
    assert await world.counts() == before
    app.state.clock.advance(minutes=1)
    t = await world.ok(world.family, tid, "urge")
    assert [e["action"] for e in t["timeline"]] == ["submit", "urge", "urge"]


async def test_stale_version_is_refused(world: World):
    t = await world.ticket()
    await world.ok(world.manager, t["id"], "accept")
    assert_error(await world.act(world.owner, t["id"], "cancel", version=t["version"]), 409, "concurrent_change")


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
