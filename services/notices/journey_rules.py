"""Rules of the managers' journeys in notices: the care list (关注特殊人群, care.py) and
activities with sign-up (activities.py). Plain functions, tested without HTTP
(tests/notices/test_journey_rules.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

# --- the care list (关注特殊人群, care.py) ---------------------------------------------------

# The API's names (journey_schemas.py uses them): elderly, living alone, with a disability.
CareCategory = Literal["elderly", "living_alone", "disability"]
REVEAL_REASON_MIN_CHARS = 2


def reveal_reason_ok(reason: str) -> bool:
    """A reveal of a full phone needs a reason a person wrote (not blank, not one character)."""
    return len(reason.strip()) >= REVEAL_REASON_MIN_CHARS


def unread_call_order(flagged: bool, label: str) -> tuple[int, str]:
    """Whom to call first after an emergency: households on the care list, then by room."""
    return (0 if flagged else 1, label)


# --- activities with sign-up (activities.py) -------------------------------------------------

SIGNUP_STANDING = ("confirmed", "waitlisted")


def activity_problem(
    starts_at: datetime, signup_deadline: datetime, capacity: int, per_household_limit: int,
    now: datetime,
) -> str | None:
    """Why an activity's sign-up settings do not hold together (None when they do)."""
    if capacity < 1:
        return "名额至少为 1 人"
    if per_household_limit < 1:
        return "每户限报人数至少为 1 人"
    if starts_at <= now:
        return "活动开始时间必须晚于当前时间"
    if signup_deadline > starts_at:
        return "报名截止时间不能晚于活动开始时间"
    if signup_deadline <= now:
        return "报名截止时间必须晚于当前时间"
    return None


def signup_open(deadline: datetime, now: datetime) -> bool:
    return now < deadline


def fits_household(taken_by_household: int, people: int, limit: int) -> bool:
    return taken_by_household + people <= limit


def placement(confirmed_people: int, people: int, capacity: int, waitlist_ahead: bool) -> str:
    """Confirmed while places remain and nobody waits ahead; else waitlisted (never refused)."""
    if not waitlist_ahead and confirmed_people + people <= capacity:
        return "confirmed"
    return "waitlisted"


def promotions(
    free: int, waiting: Sequence[tuple[str, int]]
) -> list[str]:
    """Which waitlisted sign-ups (id, people; oldest first) move up into `free` places: in
    order, stopping at the first that does not fit, so nobody is overtaken."""
    moved: list[str] = []
    for signup_id, people in waiting:
        if people > free:
            break
        moved.append(signup_id)
        free -= people
    return moved


def reminder_due(starts_at: datetime, now: datetime, lead_minutes: int) -> bool:
    return now < starts_at <= now + timedelta(minutes=lead_minutes)
