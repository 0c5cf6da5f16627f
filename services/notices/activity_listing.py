"""Which activities a caller sees (owners: those whose notice targets one of their rooms;
managers: all of the community's) and how the Mini Program and the home screen show them, with
places left and the caller's own sign-up. Signing up, cancelling and checking in: activities.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import utcnow
from services.common.pagination import page_sorted, parse_cursor
from services.notices import errors, journey_rules
from services.notices.audience import bindings_with_rooms
from services.notices.feed import is_visible, targeted_rooms
from services.notices.models import Activity, ActivitySignup, Notice


async def _visible_to(
    session: AsyncSession, community_id: str, account_id: str, now: datetime, *, upcoming: bool
) -> list[tuple[Activity, Notice]]:
    memberships = await bindings_with_rooms(session, account_id, community_id)
    if not memberships:
        return []
    stmt = (
        select(Activity, Notice)
        .join(Notice, Notice.id == Activity.notice_id)
        .where(Activity.community_id == community_id, Notice.status == "published")
        .order_by(Activity.starts_at, Activity.notice_id)
    )
    if upcoming:
        stmt = stmt.where(Activity.starts_at > now)
    rows = (await session.execute(stmt)).all()
    return [
        (a, n) for a, n in rows if is_visible(n, now) and targeted_rooms(n, memberships)
    ]


async def visible_activity(
    session: AsyncSession, activity_id: str, account_id: str, now: datetime
) -> tuple[Activity, Notice]:
    """An activity whose notice is out and targets one of the caller's rooms; else 404."""
    activity = await session.get(Activity, activity_id)
    notice = await session.get(Notice, activity_id) if activity else None
    if activity is None or notice is None or not is_visible(notice, now):
        raise errors.ActivityNotFound()
    memberships = await bindings_with_rooms(session, account_id, notice.community_id)
    if not targeted_rooms(notice, memberships):
        raise errors.ActivityNotFound()
    return activity, notice


async def activities_for(
    session: AsyncSession,
    community_id: str,
    account_id: str,
    *,
    manager: bool,
    now: datetime,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Activity, Notice]], str | None]:
    """Owners: the upcoming activities that target them, soonest first. Managers: every
    activity of the community, soonest first. Paged by (starts_at, id)."""
    after = parse_cursor(cursor, ("datetime", "str"))
    if manager:
        stmt = (
            select(Activity, Notice)
            .join(Notice, Notice.id == Activity.notice_id)
            .where(Activity.community_id == community_id)
            .order_by(Activity.starts_at, Activity.notice_id)
        )
        rows = [(a, n) for a, n in (await session.execute(stmt)).all()]
    else:
        rows = await _visible_to(session, community_id, account_id, now, upcoming=True)
    return page_sorted(rows, lambda row: (row[0].starts_at, row[0].notice_id), after, limit)


async def upcoming_activities(
    session: AsyncSession,
    community_id: str,
    account_id: str,
    limit: int,
    *,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The next `limit` activities that target the account (for the home screen): id, title,
    location, starts_at, signup_deadline, places left, and the account's sign-up status."""
    now = now or utcnow()
    rows = (await _visible_to(session, community_id, account_id, now, upcoming=True))[:limit]
    return await summaries(session, rows, account_id)


async def summaries(
    session: AsyncSession, rows: Sequence[tuple[Activity, Notice]], account_id: str | None
) -> list[dict[str, Any]]:
    """Activities as the Mini Program shows them (`schemas.ActivityOut`): two queries for the
    whole page (people per status, the caller's sign-ups), not two per activity."""
    ids = [a.notice_id for a, _ in rows]
    people: dict[tuple[str, str], int] = {}
    mine: dict[str, ActivitySignup] = {}
    if ids:
        counted = await session.execute(
            select(ActivitySignup.activity_id, ActivitySignup.status, func.sum(ActivitySignup.people))
            .where(ActivitySignup.activity_id.in_(ids), ActivitySignup.status.in_(journey_rules.SIGNUP_STANDING))
            .group_by(ActivitySignup.activity_id, ActivitySignup.status)
        )
        people = {(a, st): int(n or 0) for a, st, n in counted.all()}
        if account_id:
            found = await session.scalars(
                select(ActivitySignup).where(
                    ActivitySignup.activity_id.in_(ids),
                    ActivitySignup.active_account_id == account_id,
                )
            )
            mine = {s.activity_id: s for s in found.all()}
    out: list[dict[str, Any]] = []
    for activity, notice in rows:
        confirmed = people.get((activity.notice_id, "confirmed"), 0)
        signup = mine.get(activity.notice_id)
        out.append(
            {
                "id": activity.notice_id,
                "community_id": activity.community_id,
                "title": notice.title,
                "body": notice.body,
                "location": activity.location,
                "starts_at": activity.starts_at,
                "signup_deadline": activity.signup_deadline,
                "capacity": activity.capacity,
                "per_household_limit": activity.per_household_limit,
                "confirmed_people": confirmed,
                "waitlisted_people": people.get((activity.notice_id, "waitlisted"), 0),
                "places_left": max(activity.capacity - confirmed, 0),
                "my_signup": None
                if signup is None
                else {
                    "id": signup.id,
                    "room_id": signup.room_id,
                    "people": signup.people,
                    "status": signup.status,
                    "code": signup.code,
                    "checked_in": signup.checked_in_at is not None,
                },
            }
        )
    return out


async def summary(
    session: AsyncSession, activity: Activity, notice: Notice, account_id: str | None
) -> dict[str, Any]:
    return (await summaries(session, [(activity, notice)], account_id))[0]
