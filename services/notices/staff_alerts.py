"""Who hears what of a ticket, a pending binding and a notice under review: repairs' events
and identity's `binding.requested` turned into inbox entries and pushes for the reporter, the
room's household and the staff who must act (the groups and texts are in rules.py), and the
staff openids identity announces. Flush, never commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events import EventHandlers, ReceivedEvent
from services.common.identity_replica.models import ReplicaStaff
from services.common.identity_replica.queries import household_account_ids
from services.notices import rules, staff_alert_rules
from services.notices.delivery import deliver
from services.notices.models import InboxEntry, PushMessage, PushRecipient
from services.notices.runtime import Runtime
from services.notices.subscriptions import record_openid


async def _staff_of(session: AsyncSession, community_id: str) -> list[tuple[str, str, str | None]]:
    """(account id, role, department) of the community's active staff, in account order."""
    rows = await session.execute(
        select(ReplicaStaff.account_id, ReplicaStaff.role, ReplicaStaff.department)
        .where(ReplicaStaff.community_id == community_id, ReplicaStaff.active.is_(True))
        .order_by(ReplicaStaff.account_id)
    )
    return [(a, r, d) for a, r, d in rows.all()]


async def managers_of(session: AsyncSession, community_id: str) -> list[str]:
    return [a for a, role, _ in await _staff_of(session, community_id) if role == "manager"]


async def _group(
    session: AsyncSession,
    group: str,
    payload: Mapping[str, Any],
    staff: list[tuple[str, str, str | None]],
) -> list[str]:
    department = payload.get("department")
    if group in ("reporter", "assignee"):
        key = "reporter_id" if group == "reporter" else "assignee_id"
        return [str(payload[key])] if payload.get(key) else []
    if group == "previous":
        return [str(payload["previous_assignee_id"])] if payload.get("previous_assignee_id") else []
    if group == "household":
        room_id = payload.get("room_id")
        return sorted(await household_account_ids(session, [str(room_id)])) if room_id else []
    if group == "desk":
        return [a for a, role, dept in staff if staff_alert_rules.on_desk(role, dept, department)]
    if group == "managers":
        return [a for a, role, _ in staff if role == "manager"]
    if group == "pool":
        return [a for a, role, dept in staff if staff_alert_rules.in_pool(role, dept, department)]
    raise ValueError(f"unknown group {group}")


async def send_alerts(
    session: AsyncSession,
    rt: Runtime,
    payload: Mapping[str, Any],
    alerts: Sequence[staff_alert_rules.Alert],
    source_key: str,
    *,
    exclude: frozenset[str] = frozenset(),
) -> None:
    """Each alert to its groups; a person named by several alerts of the event hears the first
    only (one inbox entry per account and cause); `exclude` (the comment's author) none."""
    community_id = str(payload["community_id"])
    staff = await _staff_of(session, community_id)
    done = set(exclude)
    now = rt.clock.now()
    for alert in alerts:
        accounts: list[str] = []
        for group in alert.to:
            accounts += await _group(session, group, payload, staff)
        accounts = [a for a in rules.unique(accounts) if a not in done]
        if accounts:
            await deliver(session, rt, community_id, accounts, alert.message, source_key, now)
            done.update(accounts)


async def binding_requested(
    session: AsyncSession, rt: Runtime, community_id: str, source_key: str
) -> None:
    """The community's managers hear of one more pending binding: counted into their unread
    recent entry (and its push, if still waiting), else a new entry and push."""
    now = rt.clock.now()
    fresh: list[str] = []
    for account_id in await managers_of(session, community_id):
        entry = await session.scalar(
            select(InboxEntry)
            .where(
                InboxEntry.account_id == account_id,
                InboxEntry.community_id == community_id,
                InboxEntry.kind == "staff_binding_pending",
                InboxEntry.read_at.is_(None),
            )
            .order_by(InboxEntry.created_at.desc(), InboxEntry.id.desc())
            .limit(1)
        )
        if entry is None or not staff_alert_rules.coalesces_into(entry.created_at, now):
            fresh.append(account_id)
            continue
        entry.count += 1
        message = staff_alert_rules.binding_pending_message(community_id, entry.count)
        entry.text = message.text
        await session.execute(
            update(PushMessage)
            .where(
                PushMessage.account_id == account_id,
                PushMessage.source_key == entry.source_key,
                PushMessage.status == "pending",
            )
            .values(data=rules.push_data(message.title, message.text, now))
        )
    if fresh:
        await deliver(
            session,
            rt,
            community_id,
            fresh,
            staff_alert_rules.binding_pending_message(community_id, 1),
            source_key,
            now,
        )
    await session.flush()


async def staff_openid(session: AsyncSession, payload: Mapping[str, Any], now: datetime) -> None:
    """identity's `staff.upserted` says which WeChat the staff account linked (`openid`), or
    that it unlinked (null); an event without the field (from before) says nothing."""
    if "openid" not in payload:
        return
    account_id = str(payload["account_id"])
    if payload["openid"]:
        await record_openid(session, account_id, str(payload["openid"]), now)
    else:
        await session.execute(delete(PushRecipient).where(PushRecipient.account_id == account_id))


def register_staff_alerts(handlers: EventHandlers, rt: Runtime) -> EventHandlers:
    """Registered after the identity replica's handlers (they keep the staff these read)."""

    @handlers.on("repairs.ticket.created")
    async def ticket_created(session: AsyncSession, event: ReceivedEvent) -> None:
        alerts = staff_alert_rules.ticket_created_alerts(event.payload)
        await send_alerts(session, rt, event.payload, alerts, f"event:{event.id}")

    @handlers.on("repairs.ticket.status_changed")
    async def ticket_status_changed(session: AsyncSession, event: ReceivedEvent) -> None:
        alerts = staff_alert_rules.ticket_status_alerts(event.payload)
        await send_alerts(session, rt, event.payload, alerts, f"event:{event.id}")

    @handlers.on("repairs.ticket.overdue")
    async def ticket_overdue(session: AsyncSession, event: ReceivedEvent) -> None:
        await send_alerts(
            session,
            rt,
            event.payload,
            staff_alert_rules.ticket_overdue_alerts(event.payload),
            staff_alert_rules.overdue_source_key(event.payload),
        )

    @handlers.on("repairs.ticket.commented")
    async def ticket_commented(session: AsyncSession, event: ReceivedEvent) -> None:
        author = event.payload.get("author_id")
        await send_alerts(
            session,
            rt,
            event.payload,
            staff_alert_rules.ticket_comment_alerts(event.payload),
            f"event:{event.id}",
            exclude=frozenset({str(author)}) if author else frozenset(),
        )

    @handlers.on("identity.binding.requested")
    async def on_binding_requested(session: AsyncSession, event: ReceivedEvent) -> None:
        await binding_requested(
            session, rt, str(event.payload["community_id"]), f"event:{event.id}"
        )

    @handlers.on("identity.staff.upserted")
    async def on_staff_upserted(session: AsyncSession, event: ReceivedEvent) -> None:
        await staff_openid(session, event.payload, rt.clock.now())

    return handlers
