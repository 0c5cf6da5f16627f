"""The ticket state machine, where accepted tickets go, SLA deadlines and duplicate matching:
plain functions over plain data, no I/O. Who is who on a ticket: access_rules.py."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from services.common import phones
from services.common.identity_replica import DELETED_ACCOUNT_NAME
from services.repairs.errors import (
    ActionNotAllowed,
    AssigneeRequired,
    CompletionPhotoRequired,
    RatingRequired,
    ReasonRequired,
    TransitionNotAllowed,
)

# The API's names for a ticket's status and the actions people send (schemas use these).
Status = Literal[
    "submitted", "accepted", "assigned", "in_progress", "on_hold", "resolved", "closed", "cancelled"
]
UserAction = Literal[
    "accept", "assign", "accept_assign", "start", "hold", "resume", "resolve", "confirm",
    "reopen", "cancel", "urge",
]
Department = Literal["repair", "cleaning", "security", "customer_service"]

STATUSES: tuple[str, ...] = get_args(Status)
OPEN_STATUSES: tuple[str, ...] = ("submitted", "accepted", "assigned", "in_progress", "on_hold")
# Actions people send to POST /repairs/{id}/transitions (auto_close is the scheduler's;
# claim has its own route, POST /repairs/{id}/claim, which answers a lost race with 409).
USER_ACTIONS: tuple[str, ...] = get_args(UserAction)
CLAIM = "claim"
ACTIONS: tuple[str, ...] = (*USER_ACTIONS, CLAIM, "auto_close")
# `pool`: crew of the ticket's department while it waits in the pool (they may claim it).
ROLES: tuple[str, ...] = ("reporter", "household", "desk", "assignee", "pool", "system")
# Roles that speak for the property company on a ticket (comments: the staff side).
STAFF_ROLES = frozenset({"desk", "assignee", "pool"})

_RESIDENT = frozenset({"reporter", "household"})
_DESK = frozenset({"desk"})
_CREW = frozenset({"assignee"})
_SYSTEM = frozenset({"system"})
_POOL = frozenset({"pool"})
_RESIDENT_OR_DESK = _RESIDENT | _DESK


@dataclass(frozen=True)
class Rule:
    to: str
    roles: frozenset[str]


# THE state machine (domain.md, Repairs). (state, action) -> where it goes and who may do it.
# `urge` keeps the state (it is a nudge, logged on the timeline); `assign` from assigned,
# in_progress or on_hold is a reassignment.
TRANSITIONS: dict[tuple[str, str], Rule] = {
    ("submitted", "accept"): Rule("accepted", _DESK),
    # Accept and dispatch in one step: to the given crew member or the category's rule; a
    # pool rule leaves it `accepted` and pooled instead (accept_assign_target).
    ("submitted", "accept_assign"): Rule("assigned", _DESK),
    ("submitted", "cancel"): Rule("cancelled", _RESIDENT_OR_DESK),
    ("submitted", "urge"): Rule("submitted", _RESIDENT),
    ("accepted", "assign"): Rule("assigned", _DESK),
    ("accepted", "cancel"): Rule("cancelled", _RESIDENT_OR_DESK),
    ("accepted", "urge"): Rule("accepted", _RESIDENT),
    ("accepted", CLAIM): Rule("assigned", _POOL),
    ("assigned", "assign"): Rule("assigned", _DESK),
    ("assigned", "start"): Rule("in_progress", _CREW),
    ("assigned", "cancel"): Rule("cancelled", _RESIDENT_OR_DESK),
    ("assigned", "urge"): Rule("assigned", _RESIDENT),
    ("in_progress", "hold"): Rule("on_hold", _CREW),
    ("in_progress", "resolve"): Rule("resolved", _CREW),
    ("in_progress", "assign"): Rule("assigned", _DESK),
    ("in_progress", "cancel"): Rule("cancelled", _DESK),
    ("in_progress", "urge"): Rule("in_progress", _RESIDENT),
    ("on_hold", "resume"): Rule("in_progress", _CREW),
    ("on_hold", "assign"): Rule("assigned", _DESK),
    ("on_hold", "cancel"): Rule("cancelled", _DESK),
    ("on_hold", "urge"): Rule("on_hold", _RESIDENT),
    ("resolved", "confirm"): Rule("closed", _RESIDENT),
    ("resolved", "reopen"): Rule("assigned", _RESIDENT),
    ("resolved", "auto_close"): Rule("closed", _SYSTEM),
}

# What each action needs besides the right role (checked before anything is written).
NEEDS_NOTE = frozenset({"hold"})  # the reason
NEEDS_NOTE_FOR_DESK = frozenset({"cancel"})  # a manager cancelling says why; a reporter need not
NEEDS_ASSIGNEE = frozenset({"assign"})
NEEDS_PHOTOS = frozenset({"resolve"})  # completion photos
NEEDS_RATING = frozenset({"confirm"})


def decide(status: str, action: str, roles: frozenset[str] | set[str]) -> str:
    """The state `action` leads to from `status` for someone holding `roles`.

    Raises TransitionNotAllowed (409) when the table has no such step, ActionNotAllowed (403)
    when it has one but none of the roles may take it."""
    rule = TRANSITIONS.get((status, action))
    if rule is None:
        raise TransitionNotAllowed(status, action)
    if not (rule.roles & set(roles)):
        raise ActionNotAllowed(action)
    return rule.to


def actions_for(status: str, roles: frozenset[str] | set[str]) -> list[str]:
    """The user actions someone with `roles` may take now (the Mini Program shows these)."""
    return [
        action
        for action in (*USER_ACTIONS, CLAIM)
        if (rule := TRANSITIONS.get((status, action))) is not None and rule.roles & set(roles)
    ]


def actor_role(status: str, action: str, roles: frozenset[str] | set[str]) -> str:
    """The one role recorded on the timeline: the first of `roles` the table allowed."""
    allowed = TRANSITIONS[(status, action)].roles
    return next(role for role in ROLES if role in roles and role in allowed)


def require_inputs(
    action: str,
    role: str,
    *,
    note: str | None,
    assignee_id: str | None,
    photo_ids: list[str] | tuple[str, ...],
    rating: int | None,
) -> None:
    """Refuses a step that lacks what the NEEDS_* tables ask of `action` taken as `role`."""
    if not note and (
        action in NEEDS_NOTE or (action in NEEDS_NOTE_FOR_DESK and role == "desk")
    ):
        raise ReasonRequired(action)
    if action in NEEDS_PHOTOS and not photo_ids:
        raise CompletionPhotoRequired()
    if action in NEEDS_RATING and rating is None:
        raise RatingRequired()
    if action in NEEDS_ASSIGNEE and not assignee_id:
        raise AssigneeRequired()


# --- dispatch -------------------------------------------------------------------------------

AssignMode = Literal["crew", "pool"]


@dataclass(frozen=True)
class AssignmentRule:
    """Where a category's tickets go when the desk accepts them: a default crew member, or
    the department's pool."""

    mode: AssignMode
    assignee_id: str | None = None


POOL = AssignmentRule("pool")


def accept_assign_target(
    explicit_assignee: str | None, rule: AssignmentRule | None
) -> tuple[str, str | None]:
    """(to_status, assignee) of accept_assign: the crew member the desk named, else the
    category's rule, else (no rule) the department's pool."""
    if explicit_assignee:
        return "assigned", explicit_assignee
    rule = rule or POOL
    if rule.mode == "crew" and rule.assignee_id:
        return "assigned", rule.assignee_id
    return "accepted", None


def assignable(role: str | None, department: str | None) -> bool:
    """Who a ticket may be given to: active crew with a department (not a manager)."""
    return role == "crew" and department is not None


# --- a deleted account (PIPL art. 47: its personal data goes, the records stay) --------------

ERASED_NAME = DELETED_ACCOUNT_NAME  # one placeholder for every service
ERASED_PHONE = "***"


def erase_mentions(text: str | None, phones: Collection[str], names: Collection[str]) -> str | None:
    """`text` with a deleted account's phones (however spaced or dashed) and names replaced."""
    if not text:
        return text
    for phone in phones:
        digits = re.sub(r"\D", "", phone)
        if len(digits) >= 7:
            text = re.sub(r"[\s-]?".join(digits), ERASED_PHONE, text)
    # Longest first ("3栋502李明" before "李明"); a one-character name would hit other words.
    for name in sorted((n for n in names if len(n) >= 2), key=len, reverse=True):
        text = text.replace(name, ERASED_NAME)
    return text


# --- categories ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Category:
    key: str
    name: str
    department: Department


DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("water", "水路", "repair"),
    Category("electricity", "电路", "repair"),
    Category("door_window", "门窗", "repair"),
    Category("elevator", "电梯", "repair"),
    Category("public_facility", "公共设施", "repair"),
    Category("cleaning", "保洁", "cleaning"),
    Category("security", "安保", "security"),
    Category("other", "其他", "customer_service"),
)


# --- SLA ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Deadlines:
    acknowledge: datetime
    arrive: datetime
    resolve: datetime


def deadlines(
    start: datetime,
    *,
    acknowledge_minutes: int,
    arrive_minutes: int,
    resolve_minutes: int,
    urgent: bool,
    urgent_arrive_minutes: int,
) -> Deadlines:
    """SLA deadlines counted from `start` (submit, or a reopen). Urgent tickets get the same
    5-minute acknowledgement day and night and an arrive deadline of at most
    `urgent_arrive_minutes`."""
    if urgent:
        arrive_minutes = min(arrive_minutes, urgent_arrive_minutes)
    return Deadlines(
        acknowledge=start + timedelta(minutes=acknowledge_minutes),
        arrive=start + timedelta(minutes=arrive_minutes),
        resolve=start + timedelta(minutes=resolve_minutes),
    )


# Which statuses each clock is still running in.
CLOCK_RUNNING: dict[str, tuple[str, ...]] = {
    "acknowledge": ("submitted",),
    "arrive": ("submitted", "accepted", "assigned"),
    "resolve": ("submitted", "accepted", "assigned", "in_progress", "on_hold"),
}


def breached_clocks(
    status: str, now: datetime, due: dict[str, datetime], already: dict[str, bool]
) -> list[str]:
    """The clocks that have run out and were not recorded yet."""
    return [
        clock
        for clock, running in CLOCK_RUNNING.items()
        if status in running and not already[clock] and due[clock] <= now
    ]


def late_clocks(
    from_status: str,
    to_status: str,
    action: str,
    now: datetime,
    due: dict[str, datetime],
    already: dict[str, bool],
) -> list[str]:
    """Clocks a transition stops after their deadline (a late accept, arrival or fix): they
    are breaches too, even when no sweep ran in between. Cancelling stops clocks without
    meeting them, and is not counted."""
    if action == "cancel":
        return []
    return [
        clock
        for clock in breached_clocks(from_status, now, due, already)
        if to_status not in CLOCK_RUNNING[clock]
    ]


def next_due(status: str, due: Mapping[str, datetime]) -> datetime:
    """The earliest deadline still running in `status`; with none running (resolved,
    closed, cancelled) the resolve deadline, so the value is always there to sort on."""
    running = [due[clock] for clock, states in CLOCK_RUNNING.items() if status in states]
    return min(running) if running else due["resolve"]


def breach_flags(
    status: str, now: datetime, due: Mapping[str, datetime], recorded: Mapping[str, bool]
) -> dict[str, bool]:
    """Per clock: breached, whether already recorded or run out since the last sweep."""
    return {
        clock: recorded[clock] or (status in running and due[clock] <= now)
        for clock, running in CLOCK_RUNNING.items()
    }


# `open` in a status filter: what sits in a crew member's queue.
QUEUE_STATUSES: tuple[str, ...] = ("assigned", "in_progress", "on_hold")


def status_set(raw: str | None) -> tuple[str, ...] | None:
    """`open`, a status, or a comma-separated set of them -> the statuses; None for no
    filter. An unknown name raises ValueError."""
    if raw is None or not raw.strip():
        return None
    out: list[str] = []
    for name in (part.strip() for part in raw.split(",")):
        names = QUEUE_STATUSES if name == "open" else (name,)
        for status in names:
            if status not in STATUSES:
                raise ValueError(name)
            if status not in out:
                out.append(status)
    return tuple(out)


def may_urge(last_urged_at: datetime | None, now: datetime, interval_minutes: int) -> bool:
    return last_urged_at is None or now - last_urged_at >= timedelta(minutes=interval_minutes)


# --- input format -------------------------------------------------------------------------

# One phone check for every service: services/common/phones.py.
valid_phone = phones.valid_phone


# --- duplicates ---------------------------------------------------------------------------

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise_place(place: str) -> str:
    """Lower-case, full-width folded, punctuation and spaces removed: "3号楼 电梯" -> "3号楼电梯"."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", place).casefold())


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


_DIGITS = re.compile(r"\d+")


def similar_places(a: str, b: str, threshold: float = 0.6) -> bool:
    """Two free-text places name the same spot: numbers (building, floor, unit) agree, and one
    contains the other or their character bigrams overlap by at least `threshold` of the
    shorter one — robust to spacing, punctuation, word order and added words ("坏了")."""
    na, nb = normalise_place(a), normalise_place(b)
    if not na or not nb:
        return False
    da, db = _DIGITS.findall(na), _DIGITS.findall(nb)
    if da and db and set(da) != set(db):
        return False
    if na in nb or nb in na:
        return True
    ba, bb = _bigrams(na), _bigrams(nb)
    return len(ba & bb) / min(len(ba), len(bb)) >= threshold
