"""Billing's events reach the owners' inboxes, once, and push under the consent rules
(services/notices/events.py, fee_messages.py)."""

from __future__ import annotations

import uuid

from services.common.events import ReceivedEvent
from tests.notices.factories import LATE, MORNING, set_clock, tick

BILLING_TEMPLATE = "tpl-billing"


def _paid(community_id: str, account_ids: list[str]) -> dict:
    return {
        "community_id": community_id,
        "payment_id": "p" * 32,
        "channel": "wechat",
        "amount_fen": 21033,
        "receipt_no": "SJ20261201100000ABCDEF",
        "bill_ids": ["b1"],
        "room_labels": ["1栋101"],
        "periods": ["2026-12"],
        "account_ids": account_ids,
    }


async def _handle(app, event_id: str, type_: str, payload: dict) -> None:
    async with app.state.sessionmaker() as session:
        await app.state.event_handlers.handle(session, ReceivedEvent(id=event_id, type=type_, payload=payload))
        await session.commit()


async def test_a_payment_reaches_the_owners_inbox_once_with_a_push(setup):
    s = setup
    await s.consent(BILLING_TEMPLATE)
    event_id = "evt_" + uuid.uuid4().hex
    await _handle(s.app, event_id, "billing.payment.succeeded", _paid(s.c.id, [s.owner_id]))
    await _handle(s.app, event_id, "billing.payment.succeeded", _paid(s.c.id, [s.owner_id]))  # redelivered
    await tick(s.app)
    entries = [e for e in (await s.client.get("/inbox", headers=s.owner)).json()["items"] if e["kind"] == "payment_succeeded"]
    assert len(entries) == 1 and "210.33" in entries[0]["text"] and entries[0]["link"].endswith("p" * 32)
    [sent] = await s.messages()
    assert sent["template_id"] == BILLING_TEMPLATE


def _reminder(community_id: str, account_ids: list[str]) -> dict:
    return {
        "community_id": community_id,
        "bill_id": "b1",
        "room_id": "r1",
        "room_label": "1栋101",
        "period": "2026-12",
        "amount_fen": 500,
        "account_ids": account_ids,
    }


async def test_a_reminder_at_night_is_pushed_in_the_morning(setup):
    s = setup
    await s.consent(BILLING_TEMPLATE)
    set_clock(s.app, LATE)
    await _handle(s.app, "evt_" + uuid.uuid4().hex, "billing.bill.reminded", _reminder(s.c.id, [s.owner_id]))
    await tick(s.app)
    entries = [e for e in (await s.client.get("/inbox", headers=s.owner)).json()["items"] if e["kind"] == "bill_reminder"]
    assert [e["title"] for e in entries] == ["物业费缴费提醒"] and "5.00" in entries[0]["text"]
    assert await s.messages() == [] and len(await s.pushes()) == 1
    set_clock(s.app, MORNING)
    await tick(s.app)
    assert [m["template_id"] for m in await s.messages()] == [BILLING_TEMPLATE]


async def test_a_reminder_without_consent_only_reaches_the_inbox(setup):
    s = setup
    await _handle(s.app, "evt_" + uuid.uuid4().hex, "billing.bill.reminded", _reminder(s.c.id, [s.owner_id]))
    await tick(s.app)
    kinds = [e["kind"] for e in (await s.client.get("/inbox", headers=s.owner)).json()["items"]]
    assert "bill_reminder" in kinds
    assert await s.messages() == [] and await s.pushes() == []


async def test_billing_events_for_nobody_change_nothing(setup):
    s = setup
    await _handle(s.app, "evt_" + uuid.uuid4().hex, "billing.bill.issued", {"community_id": s.c.id, "account_ids": []})
    kinds = [e["kind"] for e in (await s.client.get("/inbox", headers=s.owner)).json()["items"]]
    assert not [k for k in kinds if k.startswith("bill")]
