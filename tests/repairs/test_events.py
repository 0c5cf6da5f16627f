"""Events the service consumes (services/repairs/events.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.common.events.wire import SOURCE_HEADER, envelope, sign_headers
from tests.common.identity_replica import factories as ie
from tests.repairs.factories import World, ticket_in
from tests.support import WEBHOOK_SECRETS


async def test_removed_staff_tickets_are_flagged_for_reassignment(world: World, app):
    tid = await ticket_in(world, "in_progress")
    other = await ticket_in(world, "assigned")
    await ie.deliver(app, "identity.staff.removed", {"community_id": world.cid, "account_id": world.crew_id, "staff_id": "s"})
    t = (await world.client.get(f"/repairs/{tid}", headers=world.manager)).json()
    assert t["needs_reassignment"] is True and t["timeline"][-1]["action"] == "flag"
    assert (await world.client.get(f"/repairs/{other}", headers=world.manager)).json()["needs_reassignment"]
    t = await world.ok(world.manager, tid, "assign", assignee_id=world.crew2_id)
    assert t["needs_reassignment"] is False and t["status"] == "assigned"


async def deliver_signed(world: World, event_type: str, payload: dict[str, Any]) -> None:
    """As identity's dispatcher delivers it: POST /events, signed with the pair's secret."""
    event_id = "evt_" + uuid.uuid4().hex
    body = envelope(event_id, event_type, datetime.now(UTC), payload, payload.get("account_id"))
    headers = {
        **sign_headers(WEBHOOK_SECRETS[("identity", "repairs")], event_id, body),
        SOURCE_HEADER: "identity",
        "content-type": "application/json",
    }
    r = await world.client.post("/events", content=body, headers=headers)
    assert r.status_code == 200 and r.json() == {"status": "processed"}, r.text


async def test_a_deleted_account_leaves_its_tickets_without_its_name_and_phone(world: World, app):
    tid = (await world.ticket(description="厨房漏水，请联系 138 0013 8000", contact_phone="13800138000"))["id"]
    await world.drive(tid, "resolved")
    await world.ok(world.owner, tid, "confirm", rating=5, comment="1栋101李明很满意，有事打13800138000")
    family_tid = (await world.ticket(world.family, contact_phone="13900139000"))["id"]
    before = await world.counts()

    payload = {"community_id": world.cid, "account_id": world.owner_id}
    await deliver_signed(world, "identity.account.deleted", payload)

    t = (await world.client.get(f"/repairs/{tid}", headers=world.manager)).json()
    assert t["contact_phone"] == "" and t["description"] == "厨房漏水，请联系 ***"
    assert t["rating_comment"] == "已注销用户很满意，有事打***" and t["rating"] == 5
    by_action = {e["action"]: e for e in t["timeline"]}
    assert by_action["submit"]["actor_name"] == by_action["confirm"]["actor_name"] == "已注销用户"
    assert by_action["confirm"]["note"] == "已注销用户很满意，有事打***"
    assert by_action["start"]["actor_name"] == "王师傅"  # the crew's name is theirs to keep
    assert "13800138000" not in str(t) and "李明" not in str(t)
    # The records stay, and nobody else's data moved.
    assert await world.counts() == before
    f = (await world.client.get(f"/repairs/{family_tid}", headers=world.manager)).json()
    assert f["contact_phone"] == "13900139000"
    # Delivered again (one event per community): nothing left to change.
    await deliver_signed(world, "identity.account.deleted", payload)
    assert (await world.client.get(f"/repairs/{tid}", headers=world.manager)).json()["timeline"] == t["timeline"]


async def test_a_deleted_crew_account_leaves_the_tickets_it_worked_on_nameless(world: World, app):
    tid = await ticket_in(world, "on_hold")
    await deliver_signed(world, "identity.account.deleted", {"community_id": world.cid, "account_id": world.crew_id})
    t = (await world.client.get(f"/repairs/{tid}", headers=world.manager)).json()
    assert t["assignee_name"] == "已注销用户" and t["assignee_id"] == world.crew_id
    crew_steps = [e for e in t["timeline"] if e["actor_id"] == world.crew_id]
    assert [e["action"] for e in crew_steps] == ["start", "hold"]
    assert {e["actor_name"] for e in crew_steps} == {"已注销用户"} and crew_steps[1]["note"] == "等待配件"
    assert t["contact_phone"] == "13800138000"  # the reporter's, not theirs


async def test_a_deleted_account_leaves_its_comments_nameless(world: World, app):
    tid = await ticket_in(world, "assigned")
    r = await world.client.post(f"/repairs/{tid}/comments", headers=world.owner,
                                json={"text": "我是1栋101李明，电话13800138000，下午在家"})
    assert r.status_code == 201, r.text
    await deliver_signed(world, "identity.account.deleted", {"community_id": world.cid, "account_id": world.owner_id})
    [c] = (await world.client.get(f"/repairs/{tid}/comments", headers=world.manager)).json()["items"]
    assert c["author_name"] == "已注销用户" and c["author_id"] == world.owner_id
    assert "13800138000" not in c["text"] and "1栋101李明" not in c["text"]
