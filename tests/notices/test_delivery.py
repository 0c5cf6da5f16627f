"""Delivery to inboxes and the push queue: one push per consent, quiet hours, the
template of each purpose (services/notices/delivery.py)."""

from __future__ import annotations

from datetime import timedelta

from tests.common.identity_replica import factories as ie
from tests.notices.factories import (
    LATE,
    MORNING,
    TEMPLATE,
    notice_body,
    published_notice,
    set_clock,
    tick,
)


async def test_consented_owner_gets_one_push_per_consent(setup):
    s = setup
    subs = (await s.client.get("/me/subscriptions", headers=s.owner)).json()
    assert {t["purpose"] for t in subs["templates"]} == {"repair", "vote", "notice", "binding", "billing"}
    assert subs["consents"][TEMPLATE] == 0
    await s.consent()
    assert (await s.client.get("/me/subscriptions", headers=s.owner)).json()["consents"][
        TEMPLATE
    ] == 1

    title = "电梯维护保养通知，请各位业主注意安全出行并相互转告"
    first = await published_notice(s.client, s.c, title=title)
    await tick(s.app)
    messages = await s.messages()
    assert len(messages) == 1
    sent = messages[0]
    assert (
        sent["template_id"] == TEMPLATE
        and sent["page"] == f"/pages/notices/detail?id={first['id']}"
    )
    # thing values are at most 20 characters at WeChat: cut, not refused.
    assert sent["data"]["thing1"]["value"] == title[:19] + "…"
    assert (await s.client.get("/me/subscriptions", headers=s.owner)).json()["consents"][
        TEMPLATE
    ] == 0

    # No consent left: the second notice reaches the inbox only.
    second = await published_notice(s.client, s.c, title="第二条")
    await tick(s.app)
    assert len(await s.messages()) == 1
    links = [e["link"] for e in (await s.client.get("/inbox", headers=s.owner)).json()["items"]]
    assert f"/pages/notices/detail?id={second['id']}" in links


async def test_quiet_hours_hold_pushes_until_seven_but_emergencies_go_at_once(setup):
    s = setup
    await s.consent()
    await s.consent()
    set_clock(s.app, LATE)
    await published_notice(s.client, s.c, title="周末义诊活动", category="activity")
    await tick(s.app)
    assert await s.messages() == []
    # The inbox entry is there at once; only the push waits.
    assert any(
        e["kind"] == "notice_activity"
        for e in (await s.client.get("/inbox", headers=s.owner)).json()["items"]
    )

    r = await s.client.post(
        "/notices",
        json=notice_body(
            s.c,
            category="emergency",
            title="燃气泄漏",
            expires_at=(LATE + timedelta(hours=4)).isoformat(),
        ),
        headers=s.c.manager,
    )
    await s.client.post(f"/notices/{r.json()['id']}/publish", headers=s.c.manager)
    await tick(s.app)
    assert [m["data"]["thing1"]["value"] for m in await s.messages()] == ["燃气泄漏"]

    set_clock(s.app, MORNING - timedelta(minutes=1))
    await tick(s.app)
    assert len(await s.messages()) == 1
    set_clock(s.app, MORNING)
    await tick(s.app)
    assert [m["data"]["thing1"]["value"] for m in await s.messages()] == [
        "燃气泄漏",
        "周末义诊活动",
    ]


async def test_repair_progress_is_pushed_with_the_repair_template(setup):
    s = setup
    await s.consent("tpl-repair-progress")
    reporter = s.owner_id
    ticket = "t-1"
    await ie.deliver(
        s.app,
        "repairs.ticket.status_changed",
        {
            "community_id": s.c.id,
            "ticket_id": ticket,
            "reporter_id": reporter,
            "room_id": None,
            "from_status": "accepted",
            "to_status": "assigned",
            "action": "assign",
            "assignee_id": None,
            "note": None,
        },
    )
    await tick(s.app)
    [sent] = await s.messages()
    assert sent["template_id"] == "tpl-repair-progress"
    assert sent["page"] == "/pages/repairs/detail?id=t-1"
    assert sent["data"]["thing1"]["value"] == "报修已派单"
