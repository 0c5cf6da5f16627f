"""Activities with sign-up (社区活动): an activity notice gets a sign-up with a capacity in
people, a deadline and a limit per household. Signing up past capacity joins the waitlist,
which moves up in order when a confirmed sign-up is cancelled. Every change to an activity's
sign-ups runs under the activity's row lock (PostgreSQL; SQLite serialises writers), so
capacity and the waitlist order hold under concurrency."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.pagination import Keyset, keyset_page
from services.notices import errors, event_messages, journey_rules
from services.notices.audience import bindings_with_rooms
from services.notices.delivery import deliver
from services.notices.feed import targeted_rooms
from services.notices.models import Activity, ActivitySignup, Notice
from services.notices.runtime import Runtime

ACTIVITY_LINK = "/pages/activities/detail?id={}"
# The organiser's list: confirmed, then the waitlist in its order, then cancelled.
_STATUS_RANK = case(
    (ActivitySignup.status == "confirmed", 0),
    (ActivitySignup.status == "waitlisted", 1),
    else_=2,
)
SIGNUP_ORDER = Keyset(
    (_STATUS_RANK, ActivitySignup.created_at, ActivitySignup.id),
    ("int", "datetime", "str"),
    descending=False,
)


async def create_activity(
    session: AsyncSession,
    notice: Notice,
    *,
    location: str,
    starts_at: datetime,
    signup_deadline: datetime,
    capacity: int,
    per_household_limit: int,
    by: str,
    now: datetime,
) -> Activity:
    """Opens the sign-up of an activity notice (draft or out, not withdrawn)."""
    if notice.category != "activity" or notice.status == "withdrawn":
        raise errors.NotActivityNotice()
    problem = journey_rules.activity_problem(starts_at, signup_deadline, capacity, per_household_limit, now)
    if problem is not None:
        raise errors.InvalidActivity(problem)
    if await session.get(Activity, notice.id) is not None:
        raise errors.ActivityExists()
    activity = Activity(
        notice_id=notice.id,
        community_id=notice.community_id,
        location=location,
        starts_at=starts_at,
        signup_deadline=signup_deadline,
        capacity=capacity,
        per_household_limit=per_household_limit,
        created_by=by,
        created_at=now,
    )
    session.add(activity)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise errors.ActivityExists() from exc
    return activity


async def _lock(session: AsyncSession, activity: Activity) -> None:
    """The activity's row lock, held to the end of the unit of work."""
    await session.refresh(activity, with_for_update=True)


async def _people(session: AsyncSession, activity_id: str, *where: Any) -> int:
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(ActivitySignup.people), 0)).where(
                ActivitySignup.activity_id == activity_id, *where
            )
        )
        or 0
    )


async def my_signup(
    session: AsyncSession, activity_id: str, account_id: str
) -> ActivitySignup | None:
    return await session.scalar(
        select(ActivitySignup).where(
            ActivitySignup.activity_id == activity_id,
            ActivitySignup.active_account_id == account_id,
        )
    )


async def _new_code(session: AsyncSession, activity_id: str) -> str:
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        taken = await session.scalar(
            select(ActivitySignup.id).where(
                ActivitySignup.activity_id == activity_id, ActivitySignup.code == code
            )
        )
        if taken is None:
            return code


async def sign_up(
    session: AsyncSession,
    activity: Activity,
    notice: Notice,
    account_id: str,
    room_id: str,
    people: int,
    now: datetime,
) -> ActivitySignup:
    """Signs the caller's household up: confirmed while places remain and nobody waits, else
    on the waitlist. Once per account; the household's people within its limit."""
    await _lock(session, activity)
    if not journey_rules.signup_open(activity.signup_deadline, now):
        raise errors.SignupClosed()
    memberships = await bindings_with_rooms(session, account_id, notice.community_id)
    if room_id not in targeted_rooms(notice, memberships):
        raise errors.RoomNotYours()
    if await my_signup(session, activity.notice_id, account_id) is not None:
        raise errors.AlreadySignedUp()
    standing = ActivitySignup.status.in_(journey_rules.SIGNUP_STANDING)
    household = await _people(session, activity.notice_id, standing, ActivitySignup.room_id == room_id)
    if not journey_rules.fits_household(household, people, activity.per_household_limit):
        raise errors.HouseholdLimitExceeded(activity.per_household_limit)
    confirmed = await _people(session, activity.notice_id, ActivitySignup.status == "confirmed")
    waiting = await _people(session, activity.notice_id, ActivitySignup.status == "waitlisted")
    status = journey_rules.placement(confirmed, people, activity.capacity, waiting > 0)
    label, name = next(
        ((r.label, b.display_name) for b, r in memberships if r.room_id == room_id), ("", "")
    )
    signup = ActivitySignup(
        activity_id=activity.notice_id,
        community_id=activity.community_id,
        account_id=account_id,
        active_account_id=account_id,
        room_id=room_id,
        room_label=label,
        name=name or label,
        people=people,
        status=status,
        code=await _new_code(session, activity.notice_id),
        created_at=now,
        confirmed_at=now if status == "confirmed" else None,
    )
    session.add(signup)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise errors.AlreadySignedUp() from exc
    return signup


async def cancel(
    session: AsyncSession, rt: Runtime, activity: Activity, account_id: str, now: datetime
) -> tuple[ActivitySignup, list[ActivitySignup]]:
    """Cancels the caller's sign-up; a confirmed one frees places that the waitlist takes in
    order (each one moved up hears of it). Returns the sign-up and those moved up."""
    await _lock(session, activity)
    signup = await my_signup(session, activity.notice_id, account_id)
    if signup is None:
        raise errors.SignupNotFound()
    if not journey_rules.signup_open(activity.starts_at, now):
        raise errors.SignupClosed("活动已开始，不能取消报名")
    was_confirmed = signup.status == "confirmed"
    signup.status = "cancelled"
    signup.active_account_id = None
    signup.cancelled_at = now
    await session.flush()
    moved: list[ActivitySignup] = []
    if was_confirmed:
        moved = await _move_up(session, activity, now)
        for m in moved:
            await deliver(
                session,
                rt,
                activity.community_id,
                [m.account_id],
                event_messages.InboxMessage(
                    "activity_confirmed",
                    "候补报名成功",
                    "您候补的活动有了名额，报名已确认，请准时参加。",
                    ACTIVITY_LINK.format(activity.notice_id),
                    "notice",
                ),
                f"activity:{activity.notice_id}:confirmed:{m.id}",
                now,
            )
    return signup, moved


async def _move_up(session: AsyncSession, activity: Activity, now: datetime) -> list[ActivitySignup]:
    confirmed = await _people(session, activity.notice_id, ActivitySignup.status == "confirmed")
    waiting = list(
        (
            await session.scalars(
                select(ActivitySignup)
                .where(
                    ActivitySignup.activity_id == activity.notice_id,
                    ActivitySignup.status == "waitlisted",
                )
                .order_by(ActivitySignup.created_at, ActivitySignup.id)
            )
        ).all()
    )
    ids = set(journey_rules.promotions(activity.capacity - confirmed, [(w.id, w.people) for w in waiting]))
    moved = [w for w in waiting if w.id in ids]
    for w in moved:
        w.status = "confirmed"
        w.confirmed_at = now
    await session.flush()
    return moved


async def check_in(
    session: AsyncSession,
    activity: Activity,
    *,
    code: str | None,
    signup_id: str | None,
    by: str,
    now: datetime,
) -> ActivitySignup:
    """Staff check a confirmed sign-up in, by the code the member shows or from the list."""
    await _lock(session, activity)
    stmt = select(ActivitySignup).where(ActivitySignup.activity_id == activity.notice_id)
    stmt = stmt.where(ActivitySignup.code == code) if code else stmt.where(ActivitySignup.id == signup_id)
    signup = await session.scalar(stmt)
    if signup is None:
        raise errors.SignupNotFound()
    if signup.status != "confirmed":
        raise errors.SignupNotConfirmed()
    if signup.checked_in_at is not None:
        raise errors.AlreadyCheckedIn()
    signup.checked_in_at = now
    signup.checked_in_by = by
    await session.flush()
    return signup


async def signups_page(
    session: AsyncSession, activity_id: str, limit: int | None, cursor: str | None
) -> tuple[list[ActivitySignup], str | None]:
    """The organiser's list: confirmed, then the waitlist in order, then cancelled; keyset
    over (status rank, created_at, id)."""
    stmt = select(ActivitySignup, _STATUS_RANK.label("rank")).where(
        ActivitySignup.activity_id == activity_id
    )
    rows, next_cursor = await keyset_page(
        session,
        stmt,
        SIGNUP_ORDER,
        limit or 10**9,
        cursor,
        key=lambda r: [r.rank, r[0].created_at, r[0].id],
    )
    return [r[0] for r in rows], next_cursor


CSV_HEADER = ["房屋", "报名人", "人数", "状态", "报名时间", "签到码", "签到时间"]
_STATUS_LABELS = {"confirmed": "已确认", "waitlisted": "候补", "cancelled": "已取消"}


def csv_rows(signups: Sequence[ActivitySignup]) -> list[list[str]]:
    """The export's lines under `CSV_HEADER`, written by services.common.csv_export (formula-
    safe: a name like `=HYPERLINK(...)` comes out as text)."""
    return [
        [
            s.room_label,
            s.name,
            str(s.people),
            _STATUS_LABELS.get(s.status, s.status),
            s.created_at.isoformat(),
            s.code,
            s.checked_in_at.isoformat() if s.checked_in_at else "",
        ]
        for s in signups
    ]
