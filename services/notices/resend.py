"""Resend to the unread: a published notice pushed again to the households that have not read
it (an inbox entry and a push under the notice template's consent), at most once per notice
per `resend_interval_hours`; managers only."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.common import throttle
from services.notices import rules
from services.notices.audience import account_ids_of_rooms
from services.notices.delivery import deliver
from services.notices.errors import NoticeNotResendable, ResendTooSoon
from services.notices.models import Notice
from services.notices.receipts import households
from services.notices.runtime import Runtime
from services.notices.workflow import notice_message


async def _claim(session: AsyncSession, notice: Notice, now: datetime, hours: float) -> int:
    """Takes the notice's resend slot with a conditional update (two managers pressing at
    once resend once); returns the resend's number."""
    await throttle.claim_slot(
        session,
        Notice,
        Notice.id == notice.id,
        stamp=Notice.last_resent_at,
        counter=Notice.resend_count,
        last=notice.last_resent_at,
        now=now,
        interval_hours=hours,
        too_soon=ResendTooSoon,
    )
    await session.refresh(notice)
    return notice.resend_count


async def resend_to_unread(
    session: AsyncSession, rt: Runtime, notice: Notice, now: datetime
) -> tuple[int, int, datetime]:
    """Re-pushes the notice to every member (of the audience's relations) of the households
    that have not read it. Returns (households, accounts, when the next resend may go)."""
    if not rules.can_resend(notice.status, notice.expires_at, now):
        raise NoticeNotResendable()
    hours = rt.settings.resend_interval_hours
    number = await _claim(session, notice, now, hours)
    unread = [h.room.room_id for h in await households(session, notice) if not h.read]
    accounts = await account_ids_of_rooms(
        session, unread, rules.audience_filter(notice.audience)["relations"]
    )
    await deliver(
        session,
        rt,
        notice.community_id,
        accounts,
        notice_message(notice),
        rules.notice_resend_key(notice.id, number),
        now,
    )
    return len(unread), len(accounts), now + timedelta(hours=hours)
