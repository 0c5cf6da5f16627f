"""Delivery of a message to accounts: inbox entries and queued pushes (a consent used up per
push), fan-out jobs that deliver to a whole audience in batches, and when a failed push is
tried again. Flush, never commit."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import insert_ignoring_duplicates, new_id
from services.notices import event_messages, rules
from services.notices.audience import account_ids_in_scope
from services.notices.models import (
    FanoutJob,
    InboxEntry,
    NoticeRead,
    PushConsent,
    PushMessage,
    PushRecipient,
)
from services.notices.runtime import Runtime
from services.notices.settings import Settings


async def deliver(
    session: AsyncSession,
    rt: Runtime,
    community_id: str,
    account_ids: Sequence[str],
    message: event_messages.InboxMessage,
    source_key: str,
    now: datetime,
) -> None:
    """Inbox entries for the accounts, and a queued push for each that has an openid and an
    unused consent of the purpose's template (the consent is used up here, atomically).
    Accounts that already have the entry (a redelivered event) get neither again."""
    done = set(
        (
            await session.scalars(
                select(InboxEntry.account_id).where(
                    InboxEntry.source_key == source_key,
                    InboxEntry.account_id.in_(list(account_ids)),
                )
            )
        ).all()
    )
    account_ids = [a for a in account_ids if a not in done]
    if not account_ids:
        return
    # Who opened the notice before its entry reached them: the entry arrives read (in step).
    notice_id = rules.notice_id_of(source_key)
    opened: set[str] = set()
    if notice_id is not None:
        opened = set(
            (
                await session.scalars(
                    select(NoticeRead.account_id).where(
                        NoticeRead.notice_id == notice_id, NoticeRead.account_id.in_(account_ids)
                    )
                )
            ).all()
        )
    await insert_ignoring_duplicates(
        session,
        InboxEntry,
        [
            {
                "id": new_id(),
                "community_id": community_id,
                "account_id": a,
                "kind": message.kind,
                "title": message.title[:100],
                "text": message.text[:300],
                "link": message.link,
                "source_key": source_key,
                "created_at": now,
                "read_at": now if a in opened else None,
            }
            for a in account_ids
        ],
    )
    template = rt.settings.templates()[message.purpose]
    openids: dict[str, str] = {
        account_id: openid
        for account_id, openid in (
            await session.execute(
                select(PushRecipient.account_id, PushRecipient.openid).where(
                    PushRecipient.account_id.in_(list(account_ids))
                )
            )
        ).all()
    }
    if not openids:
        return
    consumed = (
        (
            await session.execute(
                update(PushConsent)
                .where(
                    PushConsent.template_id == template,
                    PushConsent.account_id.in_(list(openids)),
                    PushConsent.remaining > 0,
                )
                .values(remaining=PushConsent.remaining - 1, updated_at=now)
                .returning(PushConsent.account_id)
                .execution_options(synchronize_session=False)
            )
        )
        .scalars()
        .all()
    )
    if not consumed:
        return
    when = rules.release_time(now, urgent=message.urgent or not rt.settings.quiet_hours)
    data = rules.push_data(message.title, message.text, now)
    await session.execute(
        insert(PushMessage.__table__),
        [
            {
                "id": new_id(),
                "community_id": community_id,
                "account_id": a,
                "openid": openids[a],
                "template_id": template,
                "page": message.link,
                "data": data,
                "source_key": source_key,
                "urgent": message.urgent,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": when,
                "created_at": now,
            }
            for a in consumed
        ],
    )


def message_of_job(job: FanoutJob) -> event_messages.InboxMessage:
    return event_messages.InboxMessage(**job.message)


async def fanout_step(session: AsyncSession, rt: Runtime, job: FanoutJob, now: datetime) -> bool:
    """Delivers the next batch of a job's audience; True when the job is done."""
    batch = rt.settings.fanout_batch_size
    accounts = await account_ids_in_scope(
        session,
        job.community_id,
        **rules.audience_filter(job.audience),
        after=job.cursor,
        limit=batch,
    )
    if accounts:
        await deliver(
            session, rt, job.community_id, accounts, message_of_job(job), job.source_key, now
        )
        job.cursor = accounts[-1]
        job.delivered += len(accounts)
    if len(accounts) < batch:
        job.status = "done"
        job.finished_at = now
    await session.flush()
    return job.status == "done"


async def queue_fanout(
    session: AsyncSession,
    community_id: str,
    audience: dict[str, Any],
    message: event_messages.InboxMessage,
    source_key: str,
    now: datetime,
) -> None:
    """A durable job delivering `message` to every account of the audience. A redelivered
    event (same source) queues nothing more."""
    existing = await session.scalar(
        select(FanoutJob.id).where(FanoutJob.source_key == source_key).limit(1)
    )
    if existing is not None:
        return
    session.add(
        FanoutJob(
            id=new_id(),
            community_id=community_id,
            audience=audience,
            message=dataclasses.asdict(message),
            source_key=source_key,
            status="pending",
            delivered=0,
            created_at=now,
        )
    )
    await session.flush()


def retry_at(settings: Settings, attempts: int, now: datetime, urgent: bool) -> datetime:
    """When a push that failed `attempts` times (retryably) goes again: exponential backoff,
    then held to the morning unless urgent."""
    backoff = settings.push_backoff_seconds * (2 ** max(attempts - 1, 0))
    return rules.release_time(
        now + timedelta(seconds=backoff), urgent=urgent or not settings.quiet_hours
    )
