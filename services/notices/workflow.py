"""Drafting a notice and its review workflow: submit, approve, publish (at once or by the
scheduler at `publish_at`), withdraw; expiry; single-manager mode. Flush, never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.community_settings import merge_settings, read_settings
from services.common.db import execute_dml, new_id
from services.common.events import emit
from services.common.identity_replica.queries import known_building_ids
from services.notices import event_messages, rules, staff_alert_rules
from services.notices.audience import known_units
from services.notices.delivery import deliver, queue_fanout
from services.notices.errors import NoticeExpired
from services.notices.models import CommunityConfig, FanoutJob, InboxEntry, Notice, PushMessage
from services.notices.runtime import Runtime
from services.notices.schemas import NoticeCreate
from services.notices.settings import Settings
from services.notices.staff_alerts import managers_of


async def is_single_manager(session: AsyncSession, community_id: str) -> bool:
    values = await read_settings(
        session, CommunityConfig, community_id, rules.DEFAULT_COMMUNITY_SETTINGS
    )
    return bool(values["single_manager"])


async def set_single_manager(
    session: AsyncSession, community_id: str, value: bool, now: datetime
) -> None:
    await merge_settings(session, CommunityConfig, community_id, {"single_manager": value}, now)


async def create_notice(
    session: AsyncSession, settings: Settings, author_id: str, data: NoticeCreate, now: datetime
) -> Notice:
    """A draft, once `rules.notice_problem` finds nothing wrong with it."""
    title = data.title.strip()
    body = data.body.strip()
    audience = rules.normalize_audience(data.audience.model_dump())
    # The replica is asked only about what the audience names.
    buildings: set[str] = set()
    units: set[tuple[str, str | None]] = set()
    if audience["kind"] == "buildings" and audience["building_ids"]:
        buildings = await known_building_ids(session, data.community_id)
    elif audience["kind"] == "units" and audience["units"]:
        units = await known_units(session, data.community_id)
    problem = rules.notice_problem(
        title,
        body,
        data.category,
        audience,
        publish_at=data.publish_at,
        expires_at=data.expires_at,
        now=now,
        title_max_chars=settings.title_max_chars,
        body_max_chars=settings.body_max_chars,
        known_buildings=buildings,
        known_units=units,
    )
    if problem is not None:
        raise problem
    notice = Notice(
        id=new_id(),
        community_id=data.community_id,
        author_id=author_id,
        title=title,
        body=body,
        category=data.category,
        audience=audience,
        pinned=data.pinned,
        status="draft",
        publish_at=data.publish_at,
        expires_at=data.expires_at,
        created_at=now,
        updated_at=now,
    )
    session.add(notice)
    await session.flush()
    return notice


async def transition(
    session: AsyncSession, rt: Runtime, notice: Notice, action: str, actor_id: str, now: datetime
) -> Notice:
    """One workflow step; a submitted notice reaches the community's other managers, who
    review it."""
    state = rules.NoticeState(notice.status, notice.category, notice.author_id, notice.publish_at)
    single = action == "approve" and await is_single_manager(session, notice.community_id)
    target = rules.next_status(state, action, actor_id=actor_id, single_manager=single, now=now)
    if target == "published" and rules.is_expired(notice.expires_at, now):
        raise NoticeExpired()
    notice.updated_at = now
    if action == "submit":
        notice.submitted_at = now
        reviewers = [m for m in await managers_of(session, notice.community_id) if m != actor_id]
        if reviewers:
            message = staff_alert_rules.notice_review_message(notice.id, notice.title)
            # Per submission: a notice sent back and submitted again is announced again.
            source = f"review:{notice.id}:{now.isoformat()}"
            await deliver(session, rt, notice.community_id, reviewers, message, source, now)
    elif action == "approve":
        notice.approved_by, notice.approved_at = actor_id, now
    elif action == "withdraw":
        await _withdraw(session, notice, now)
    if target == "published":
        await publish(session, notice, now)
    else:
        notice.status = target
    await session.flush()
    return notice


def notice_message(notice: Notice) -> event_messages.InboxMessage:
    """What a notice's inbox entry and push say (on publishing, and when re-pushed)."""
    return event_messages.InboxMessage(
        kind="notice_" + notice.category,
        title=notice.title,
        text=rules.excerpt(notice.body),
        link=event_messages.NOTICE_LINK.format(notice.id),
        purpose="notice",
        urgent=notice.category == "emergency",
    )


async def publish(session: AsyncSession, notice: Notice, now: datetime) -> None:
    """Marks the notice published and queues its delivery; the worker does the fan-out."""
    notice.status = "published"
    notice.published_at = now
    notice.updated_at = now
    await queue_fanout(
        session, notice.community_id, notice.audience, notice_message(notice), rules.notice_source_key(notice.id), now
    )
    emit(
        session,
        "notices.notice.published",
        {
            "community_id": notice.community_id,
            "notice_id": notice.id,
            "category": notice.category,
            "title": notice.title,
            "audience": notice.audience,
        },
        ordering_key=notice.id,
    )


async def _withdraw(session: AsyncSession, notice: Notice, now: datetime) -> None:
    """Stops what has not gone out yet and takes the notice out of inboxes."""
    notice.withdrawn_at = now
    key = rules.notice_source_key(notice.id)
    # Its re-pushes to the unread (resend.py) are keyed `notice:<id>:resend:<n>`.
    resent = key + ":resend:%"
    await session.execute(
        update(FanoutJob)
        .where(FanoutJob.source_key == key, FanoutJob.status == "pending")
        .values(status="cancelled", finished_at=now)
    )
    await session.execute(
        update(PushMessage)
        .where(
            or_(PushMessage.source_key == key, PushMessage.source_key.like(resent)),
            PushMessage.status == "pending",
        )
        .values(status="cancelled")
    )
    await session.execute(
        delete(InboxEntry).where(
            or_(InboxEntry.source_key == key, InboxEntry.source_key.like(resent))
        )
    )


async def run_scheduler(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """Publishes scheduled notices that are due and hides expired ones."""
    due = (
        await session.scalars(
            select(Notice).where(Notice.status == "scheduled", Notice.publish_at <= now)
        )
    ).all()
    for notice in due:
        await publish(session, notice, now)
    expired = await execute_dml(
        session,
        update(Notice)
        .where(Notice.status == "published", Notice.expires_at <= now)
        .values(status="expired", expired_at=now, updated_at=now),
    )
    await session.flush()
    return len(due), expired
