"""The reminder before an activity starts: a periodic pass (the house's `periodic_hook`) tells
each confirmed sign-up's account, once per activity, `activity_reminder_minutes` ahead."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import execute_dml
from services.common.periodic import periodic_hook
from services.notices import event_messages, journey_rules, rules
from services.notices.activities import ACTIVITY_LINK
from services.notices.delivery import deliver
from services.notices.models import Activity, ActivitySignup, Notice
from services.notices.runtime import Runtime


async def send_due_reminders(session: AsyncSession, rt: Runtime, now: datetime) -> int:
    """Reminds the confirmed sign-ups of every activity starting within the lead time; each
    activity is claimed with a conditional update, so two instances remind once."""
    lead = rt.settings.activity_reminder_minutes
    due = (
        await session.execute(
            select(Activity.notice_id, Activity.community_id, Activity.starts_at, Notice.title)
            .join(Notice, Notice.id == Activity.notice_id)
            .where(
                Activity.reminder_sent_at.is_(None),
                Activity.starts_at > now,
                Activity.starts_at <= now + timedelta(minutes=lead),
                Notice.status == "published",
            )
        )
    ).all()
    sent = 0
    for activity_id, community_id, starts_at, title in due:
        if not journey_rules.reminder_due(starts_at, now, lead):
            continue
        claimed = await execute_dml(
            session,
            update(Activity)
            .where(Activity.notice_id == activity_id, Activity.reminder_sent_at.is_(None))
            .values(reminder_sent_at=now),
        )
        if claimed != 1:
            continue
        accounts = list(
            (
                await session.scalars(
                    select(ActivitySignup.account_id).where(
                        ActivitySignup.activity_id == activity_id,
                        ActivitySignup.status == "confirmed",
                    )
                )
            ).all()
        )
        local = starts_at.astimezone(rules.SHANGHAI).strftime("%m月%d日 %H:%M")
        await deliver(
            session,
            rt,
            community_id,
            accounts,
            event_messages.InboxMessage(
                "activity_reminder",
                "活动即将开始",
                f"您报名的活动「{rules.clean_text(title)}」将于 {local} 开始，请准时参加。",
                ACTIVITY_LINK.format(activity_id),
                "notice",
            ),
            f"activity:{activity_id}:reminder",
            now,
        )
        sent += 1
    return sent


async def tick(app: FastAPI) -> int:
    """One pass in its own unit of work, at the app clock's now."""
    rt: Runtime = app.state.notices
    async with app.state.sessionmaker() as session:
        sent = await send_due_reminders(session, rt, rt.clock.now())
        await session.commit()
    return sent


start_activity_reminders = periodic_hook("notices-activity-reminders", tick, first_pass_at_start=False)
