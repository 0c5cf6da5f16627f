"""Staff alerts (services/notices/staff_alerts.py): repairs' events, pending bindings and
notices under review reach the staff who must act, with pushes to the WeChat the staff
account linked; the reporter hears every step. Events are built as docs/events.md states
them, with the fields issue 13 added."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from services.notices.models import PushRecipient
from tests.common.identity_replica import factories as ie
from tests.notices.factories import (
    LATE,
    MORNING,
    NOON,
    Community,
    notice_body,
    notices_app,
    push_setup,
    set_clock,
    tick,
)
from tests.support import auth, client_for, token


class Staffed:
    """A community with a desk (a manager of all, a repair manager, a cleaning manager,
    customer service) and two repair crew, each able to read their own inbox."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.c = Community(app)
        self.ids: dict[str, str] = {}

    async def add(self, name: str, role: str, department: str | None, openid: str | None = None) -> str:
        payload = await ie.staff(self.app, self.c.id, role=role, department=department)
        if openid is not None:
            await ie.deliver(self.app, "identity.staff.upserted", {**payload, "openid": openid})
        self.ids[name] = payload["account_id"]
        return payload["account_id"]

    async def setup(self) -> Staffed:
        await self.add("boss", "manager", None)
        await self.add("repair_manager", "manager", "repair")
        await self.add("cleaning_manager", "manager", "cleaning")
        await self.add("desk", "crew", "customer_service")
        await self.add("li", "crew", "repair")
        await self.add("zhang", "crew", "repair")
        await self.add("cleaner", "crew", "cleaning")
        return self

    async def kinds(self, client: Any, name: str) -> list[str]:
        inbox = (await client.get("/inbox", headers=auth(token(self.ids[name])))).json()
        return [e["kind"] for e in inbox["items"]]

    async def who_got(self, client: Any, kind: str) -> set[str]:
        return {n for n in self.ids if kind in await self.kinds(client, n)}


def created(c: Community, ticket: str, reporter: str, **extra: Any) -> dict[str, Any]:
    return {"community_id": c.id, "ticket_id": ticket, "reporter_id": reporter, "room_id": None,
            "kind": "repair", "category": "water", "urgent": False, "status": "submitted",
            "department": "repair", "source": "resident", "filed_by": None, "assignee_id": None,
            **extra}


def changed(c: Community, ticket: str, reporter: str, action: str, to_status: str, **extra: Any) -> dict[str, Any]:
    return {"community_id": c.id, "ticket_id": ticket, "reporter_id": reporter, "room_id": None,
            "from_status": "submitted", "to_status": to_status, "action": action,
            "assignee_id": None, "previous_assignee_id": None, "department": "repair",
            "urgent": False, "note": None, **extra}


async def test_a_new_ticket_reaches_the_desk_of_its_department_only(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        s = await Staffed(app).setup()
        ticket = str(uuid.uuid4())
        await ie.deliver(app, "repairs.ticket.created", created(s.c, ticket, str(uuid.uuid4())))
        assert await s.who_got(client, "staff_ticket_new") == {"boss", "repair_manager", "desk"}
        entry = (await client.get("/inbox", headers=auth(token(s.ids["desk"])))).json()["items"][0]
        assert entry["link"] == f"/pages/repairs/detail?id={ticket}"
        # A ticket whose department is not stated reaches every manager and customer service.
        await ie.deliver(app, "repairs.ticket.created",
                         created(s.c, str(uuid.uuid4()), str(uuid.uuid4()), department=None))
        assert "staff_ticket_new" in await s.kinds(client, "cleaning_manager")
        assert "staff_ticket_new" not in await s.kinds(client, "li")


async def test_assignment_reassignment_and_claim_reach_the_crew(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        s = await Staffed(app).setup()
        ticket, reporter = str(uuid.uuid4()), str(uuid.uuid4())
        await ie.deliver(app, "repairs.ticket.status_changed",
                         changed(s.c, ticket, reporter, "assign", "assigned", assignee_id=s.ids["li"]))
        assert await s.who_got(client, "staff_ticket_assigned") == {"li"}
        await ie.deliver(app, "repairs.ticket.status_changed",
                         changed(s.c, ticket, reporter, "assign", "assigned", assignee_id=s.ids["zhang"],
                                 previous_assignee_id=s.ids["li"]))
        assert await s.who_got(client, "staff_ticket_assigned") == {"li", "zhang"}
        assert await s.who_got(client, "staff_ticket_reassigned") == {"li"}
        reporter_kinds = [e["kind"] for e in (await client.get("/inbox", headers=auth(token(reporter)))).json()["items"]]
        assert reporter_kinds == ["repair_reassign", "repair_assign"]

        pooled = str(uuid.uuid4())
        await ie.deliver(app, "repairs.ticket.status_changed",
                         changed(s.c, pooled, reporter, "accept_assign", "accepted", pooled=True))
        assert await s.who_got(client, "staff_ticket_pool") == {"li", "zhang"}
        await ie.deliver(app, "repairs.ticket.status_changed",
                         changed(s.c, pooled, reporter, "claim", "assigned", from_status="accepted",
                                 assignee_id=s.ids["zhang"]))
        assert await s.who_got(client, "staff_ticket_claimed") == {"zhang"}


async def test_urge_reopen_and_a_desk_cancel_reach_who_must_act(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        s = await Staffed(app).setup()
        ticket, reporter = str(uuid.uuid4()), str(uuid.uuid4())
        me = auth(token(reporter))
        await ie.deliver(app, "repairs.ticket.status_changed",
                         changed(s.c, ticket, reporter, "urge", "assigned", from_status="assigned",
                                 assignee_id=s.ids["li"]))
        assert await s.who_got(client, "staff_ticket_urged") == {"li", "boss", "repair_manager", "desk"}
        await ie.deliver(app, "repairs.ticket.status_changed",
                         changed(s.c, ticket, reporter, "reopen", "assigned", from_status="resolved",
                                 assignee_id=None, previous_assignee_id=s.ids["li"]))
        assert await s.who_got(client, "staff_ticket_reopened") == {"li", "boss", "repair_manager", "desk"}
        assert (await client.get("/inbox", headers=me)).json()["items"] == []  # the reporter's own acts

        await ie.deliver(app, "repairs.ticket.status_changed",
                         changed(s.c, ticket, reporter, "cancel", "cancelled", from_status="assigned",
                                 assignee_id=s.ids["li"], note="业主已自行修好"))
        [cancel] = (await client.get("/inbox", headers=me)).json()["items"]
        assert cancel["kind"] == "repair_cancel" and "业主已自行修好" in cancel["text"]
        assert await s.who_got(client, "staff_ticket_cancelled") == {"li"}
        # A reporter's own cancel (no reason) is not told back to them.
        other = str(uuid.uuid4())
        await ie.deliver(app, "repairs.ticket.status_changed",
                         changed(s.c, str(uuid.uuid4()), other, "cancel", "cancelled"))
        assert (await client.get("/inbox", headers=auth(token(other)))).json()["items"] == []


async def test_the_owner_hears_every_step_with_its_reason(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        ticket, reporter = str(uuid.uuid4()), str(uuid.uuid4())
        steps = [("start", "in_progress", None), ("hold", "on_hold", "等待配件到货"),
                 ("resume", "in_progress", None), ("resolve", "resolved", None),
                 ("auto_close", "closed", None)]
        for action, status, note in steps:
            await ie.deliver(app, "repairs.ticket.status_changed",
                             changed(c, ticket, reporter, action, status, note=note))
        items = (await client.get("/inbox", headers=auth(token(reporter)))).json()["items"]
        assert [e["kind"] for e in reversed(items)] == [
            "repair_start", "repair_hold", "repair_resume", "repair_resolve", "repair_auto_close"]
        hold = next(e for e in items if e["kind"] == "repair_hold")
        assert hold["text"] == "您的报修暂缓处理：等待配件到货"
        assert next(e for e in items if e["kind"] == "repair_start")["title"] == "师傅已出发"


async def test_a_ticket_filed_by_staff_reaches_the_rooms_household(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        s = await Staffed(app).setup()
        room = await s.c.room()
        owner, owner_h = await s.c.member(room)
        family, family_h = await s.c.member(room, "family")
        ticket = str(uuid.uuid4())
        await ie.deliver(app, "repairs.ticket.created",
                         created(s.c, ticket, owner, room_id=room["room_id"], source="staff",
                                 filed_by=s.ids["desk"], assignee_id=s.ids["li"]))
        for h in (owner_h, family_h):
            kinds = [e["kind"] for e in (await client.get("/inbox", headers=h)).json()["items"]]
            assert kinds == ["repair_filed_for_you", "binding_verified"]
        assert await s.who_got(client, "staff_ticket_assigned") == {"li"}


async def test_an_sla_breach_reaches_the_desk_and_managers_once(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        s = await Staffed(app).setup()
        ticket, reporter = str(uuid.uuid4()), str(uuid.uuid4())
        breach = {"community_id": s.c.id, "ticket_id": ticket, "reporter_id": reporter, "clock": "acknowledge",
                  "deadline": "2026-11-25T04:05:00Z", "department": "repair", "assignee_id": None}
        await ie.deliver(app, "repairs.ticket.overdue", breach)
        await ie.deliver(app, "repairs.ticket.overdue", breach)  # the same breach told twice
        expected = {"boss", "repair_manager", "cleaning_manager", "desk"}
        assert await s.who_got(client, "staff_ticket_overdue") == expected
        for name in expected:
            assert (await s.kinds(client, name)).count("staff_ticket_overdue") == 1
        assert [e["kind"] for e in (await client.get("/inbox", headers=auth(token(reporter)))).json()["items"]] == [
            "repair_overdue"]
        # Another clock of the same ticket is another breach.
        await ie.deliver(app, "repairs.ticket.overdue", {**breach, "clock": "arrive"})
        assert (await s.kinds(client, "boss")).count("staff_ticket_overdue") == 2


async def test_comments_reach_the_other_side_and_internal_notes_never_residents(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        s = await Staffed(app).setup()
        room = await s.c.room()
        owner, owner_h = await s.c.member(room)
        ticket = str(uuid.uuid4())

        def comment(author: str, side: str, internal: bool, text: str) -> dict[str, Any]:
            return {"community_id": s.c.id, "ticket_id": ticket, "comment_id": str(uuid.uuid4()),
                    "reporter_id": owner, "room_id": room["room_id"], "author_id": author,
                    "author_side": side, "internal": internal, "assignee_id": s.ids["li"],
                    "department": "repair", "excerpt": text}

        async def owner_entries() -> list[dict[str, Any]]:
            items = (await client.get("/inbox", headers=owner_h)).json()["items"]
            return [e for e in items if e["kind"] != "binding_verified"]

        await ie.deliver(app, "repairs.ticket.commented", comment(s.ids["li"], "staff", True, "需要换阀门"))
        assert await s.who_got(client, "staff_ticket_note") == {"boss", "repair_manager", "desk"}
        assert await owner_entries() == []

        await ie.deliver(app, "repairs.ticket.commented", comment(s.ids["li"], "staff", False, "明早9点上门"))
        [reply] = await owner_entries()
        assert reply["kind"] == "repair_comment" and reply["text"] == "明早9点上门"
        assert await s.who_got(client, "repair_comment") == set()

        await ie.deliver(app, "repairs.ticket.commented", comment(owner, "resident", False, "好的，谢谢"))
        assert await s.who_got(client, "staff_ticket_comment") == {"li", "boss", "repair_manager", "desk"}
        assert len(await owner_entries()) == 1


async def test_pending_bindings_reach_managers_as_one_growing_count(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        s = await Staffed(app).setup()

        async def requested() -> None:
            await ie.deliver(app, "identity.binding.requested",
                             {"community_id": s.c.id, "binding_id": str(uuid.uuid4()),
                              "room_id": str(uuid.uuid4()), "relation": "owner"})

        for _ in range(3):
            await requested()
        boss = auth(token(s.ids["boss"]))
        [entry] = (await client.get("/inbox", headers=boss)).json()["items"]
        assert entry["kind"] == "staff_binding_pending" and entry["count"] == 3
        assert entry["text"] == "有3条房屋认证申请待审核。"
        assert entry["link"] == f"/pages/staff/bindings?community_id={s.c.id}"
        assert await s.who_got(client, "staff_binding_pending") == {"boss", "repair_manager", "cleaning_manager"}
        # Once read (or later than the window), the next request starts a new entry.
        await client.post(f"/inbox/{entry['id']}/read", headers=boss)
        set_clock(app, NOON + timedelta(minutes=1))
        await requested()
        items = (await client.get("/inbox", headers=boss)).json()["items"]
        assert [e["count"] for e in items] == [1, 3]
        set_clock(app, NOON + timedelta(hours=1))  # the unread entry is too old to grow
        await requested()
        assert len((await client.get("/inbox", headers=auth(token(s.ids["cleaning_manager"])))).json()["items"]) == 2


async def test_a_submitted_notice_reaches_the_other_managers(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        s = await Staffed(app).setup()
        author = auth(token(s.ids["boss"], staff={s.c.id: {"role": "manager", "department": None}}))
        r = await client.post("/notices", json=notice_body(s.c), headers=author)
        nid = r.json()["id"]
        assert (await client.post(f"/notices/{nid}/submit", headers=author)).status_code == 200
        assert await s.who_got(client, "staff_notice_review") == {"repair_manager", "cleaning_manager"}
        entry = (await client.get("/inbox", headers=auth(token(s.ids["repair_manager"])))).json()["items"][0]
        assert entry["link"] == f"/pages/notices/review?id={nid}" and "停水通知" in entry["text"]


async def test_staff_pushes_use_the_linked_wechat_and_urgent_tickets_skip_quiet_hours(database_urls):
    async with push_setup(database_urls["notices"]) as s:
        staff = await ie.staff(s.app, s.c.id, role="manager", department=None)
        desk = staff["account_id"]
        await ie.deliver(s.app, "identity.staff.upserted", {**staff, "openid": "openid-desk"})
        desk_h = auth(token(desk))
        r = await s.client.post("/me/subscriptions", json={"template_ids": ["tpl-repair-progress"] * 2},
                                headers=desk_h)
        assert r.status_code == 200
        for _ in range(2):
            await s.wechat.post("/_standin/consents", json={"openid": "openid-desk", "template_id": "tpl-repair-progress"})
        set_clock(s.app, LATE)
        await ie.deliver(s.app, "repairs.ticket.created", created(s.c, "t-quiet", s.owner_id))
        await ie.deliver(s.app, "repairs.ticket.created", created(s.c, "t-urgent", s.owner_id, urgent=True))
        await tick(s.app)
        sent = (await s.wechat.get("/_standin/messages", params={"touser": "openid-desk"})).json()
        sent = sent["messages"] if isinstance(sent, dict) else sent
        assert [m["page"] for m in sent] == ["/pages/repairs/detail?id=t-urgent"]
        assert sent[0]["data"]["thing1"]["value"] == "紧急报修待受理"
        set_clock(s.app, MORNING)  # the other waits for 07:00
        await tick(s.app)
        sent = (await s.wechat.get("/_standin/messages", params={"touser": "openid-desk"})).json()
        sent = sent["messages"] if isinstance(sent, dict) else sent
        assert sorted(m["page"] for m in sent) == [
            "/pages/repairs/detail?id=t-quiet", "/pages/repairs/detail?id=t-urgent"]
        # Unlinking (openid null) stops pushes reaching the account; an event without the
        # field says nothing about it.
        await ie.deliver(s.app, "identity.staff.upserted", staff)
        async with s.app.state.sessionmaker() as session:
            assert (await session.get(PushRecipient, desk)).openid == "openid-desk"
        await ie.deliver(s.app, "identity.staff.upserted", {**staff, "openid": None})
        async with s.app.state.sessionmaker() as session:
            assert await session.get(PushRecipient, desk) is None


async def test_without_quiet_hours_a_late_push_goes_at_once(database_urls):
    async with push_setup(database_urls["notices"], quiet_hours=False) as s:
        await s.consent("tpl-repair-progress")
        set_clock(s.app, LATE)
        await ie.deliver(s.app, "repairs.ticket.status_changed",
                         changed(s.c, "t-1", s.owner_id, "start", "in_progress"))
        await tick(s.app)
        assert [m["data"]["thing1"]["value"] for m in await s.messages()] == ["师傅已出发"]
