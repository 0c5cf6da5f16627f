"""The votes rules as pure functions: ballot and vote checks and the state machine. No I/O.
The Civil Code art. 278 tally and the community settings it reads are in `tally_rules.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.common import throttle
from services.votes import errors

MOTION_OPTIONS: tuple[str, ...] = ("agree", "disagree", "abstain")
MOTION_OPTION_LABELS = {"agree": "同意", "disagree": "反对", "abstain": "弃权"}
# A community's tally settings when it has none (their meaning: `tally_rules.py`).
DEFAULT_COMMUNITY_SETTINGS: dict[str, Any] = {
    "multi_room_headcount": "unanimous",
    "non_voters_follow_majority": False,
}


# --- the vote's state machine ---------------------------------------------------------------

# Statuses in which the vote has an electorate: its members see it, managers see its counts.
WITH_ELECTORATE = ("open", "closed")


def can_edit(status: str) -> bool:
    return status == "draft"


def can_open(status: str) -> bool:
    return status in ("draft", "scheduled")


def can_close(status: str) -> bool:
    return status == "open"


def opens_later(status: str, opens_at: datetime | None, now: datetime) -> bool:
    """Opening a draft whose `opens_at` is still ahead schedules it instead."""
    return status == "draft" and opens_at is not None and opens_at > now


def closing_time_passed(closes_at: datetime, now: datetime) -> bool:
    """A vote cannot be saved or opened with its closing time behind it."""
    return closes_at <= now


def accepts_ballots(status: str, now: datetime, closes_at: datetime) -> bool:
    return status == "open" and now < closes_at


def has_electorate(status: str) -> bool:
    return status in WITH_ELECTORATE


def can_vote_for(relation: str) -> bool:
    """Of a verified household, only an owner casts the room's ballot."""
    return relation == "owner"


MyStatus = Literal["not_voted", "voted", "not_eligible"]


def room_status(has_ballot: bool, can_vote: bool) -> MyStatus:
    """A room of the caller's in the electorate: its ballot is in, or the caller (an owner)
    may still cast it, or the caller (family, tenant) may not."""
    if has_ballot:
        return "voted"
    return "not_voted" if can_vote else "not_eligible"


def vote_status(room_statuses: Sequence[str]) -> MyStatus:
    """The vote's badge for the caller: not_voted while any of their rooms waits for their
    ballot; voted once every room they may vote for has one; not_eligible otherwise."""
    if "not_voted" in room_statuses:
        return "not_voted"
    if "voted" in room_statuses:
        return "voted"
    return "not_eligible"


def same_answers(
    standing: Iterable[tuple[str, str | None, str | None]], wanted: Sequence[Answer]
) -> bool:
    """Whether a standing ballot's answers, as (item_id, option_id, text) rows, are the ones
    wanted (order and blank texts aside): casting them again changes nothing."""
    want = {(a.item_id, o, None) for a in wanted for o in a.option_ids} | {
        (a.item_id, None, a.text) for a in wanted if a.text is not None and a.text.strip()
    }
    return set(standing) == want


def can_see_results(status: str, *, manager: bool, live_results: bool) -> bool:
    """Everybody who sees the vote once it is closed; managers while it is open when the vote
    allows live results."""
    return status == "closed" or (status == "open" and manager and live_results)


def can_see_free_text(kind: str, *, manager: bool) -> bool:
    """Free-text answers of surveys are for managers only."""
    return manager and kind == "survey"


def can_publish_room_results(kind: str) -> bool:
    """Votes publish each room's choice; surveys publish counts only."""
    return kind == "vote"


def ballot_time(now: datetime, *, anonymous: bool) -> datetime:
    """When a ballot is recorded as cast: anonymous surveys keep only the day."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0) if anonymous else now


def vote_problem(
    kind: str,
    has_motions: bool,
    has_questions: bool,
    *,
    anonymous: bool,
    allow_change: bool,
    opens_at: datetime | None,
    closes_at: datetime,
) -> str | None:
    """Why a vote or survey is not well formed (None when it is): a vote has motions and no
    questions and is never anonymous; a survey has questions and no motions; an anonymous
    survey cannot be changed (its answers are not linked to a room); it closes after it opens."""
    if kind == "vote":
        if not has_motions:
            return "投票至少需要一个议题"
        if has_questions:
            return "投票不能包含问卷题目"
        if anonymous:
            return "表决不能匿名，须记录每户的投票"
    else:
        if not has_questions:
            return "问卷至少需要一个题目"
        if has_motions:
            return "问卷不能包含表决议题"
    if anonymous and allow_change:
        return "匿名问卷不能修改答卷"
    if opens_at is not None and closes_at <= opens_at:
        return "截止时间必须晚于开始时间"
    return None


# --- ballot checks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemSpec:
    """What a ballot may answer for one item of a vote."""

    item_id: str
    kind: str  # motion | single | multiple | text
    option_ids: tuple[str, ...] = ()
    max_choices: int | None = None


@dataclass(frozen=True)
class Answer:
    item_id: str
    option_ids: tuple[str, ...] = ()
    text: str | None = None


TEXT_ANSWER_MAX = 2000


def check_ballot(items: Sequence[ItemSpec], answers: Sequence[Answer]) -> errors.InvalidBallot | None:
    """What is wrong with the answers as a ballot for these items (None when nothing is):
    every motion and choice question answered exactly once, known options only, one option on
    a motion or single-choice question, at most `max_choices` on a multiple-choice one.
    Free-text questions may be left out."""
    by_id = {i.item_id: i for i in items}
    seen: set[str] = set()
    for a in answers:
        about = {"item_id": a.item_id}
        spec = by_id.get(a.item_id)
        if spec is None:
            return errors.UnknownItem(details=about)
        if a.item_id in seen:
            return errors.DuplicateAnswer(details=about)
        seen.add(a.item_id)
        if spec.kind == "text":
            if a.option_ids or a.text is None:
                return errors.TextExpected(details=about)
            if len(a.text) > TEXT_ANSWER_MAX:
                return errors.TextTooLong(details=about)
            continue
        if a.text is not None:
            return errors.OptionExpected(details=about)
        unknown = [o for o in a.option_ids if o not in spec.option_ids]
        if unknown:
            return errors.UnknownOption(details={**about, "option_ids": unknown})
        if len(set(a.option_ids)) != len(a.option_ids):
            return errors.DuplicateOption(details=about)
        if not a.option_ids:
            return errors.MissingChoice(details=about)
        if spec.kind in ("motion", "single") and len(a.option_ids) != 1:
            return errors.SingleChoice(details=about)
        if spec.kind == "multiple" and len(a.option_ids) > (spec.max_choices or len(spec.option_ids)):
            return errors.TooManyChoices(a.item_id, spec.max_choices)
    missing = [i.item_id for i in items if i.kind != "text" and i.item_id not in seen]
    if missing:
        return errors.MissingAnswer(details={"item_ids": missing})
    return None


# --- turnout: paper and proxy ballots, reminders to non-voters (turnout.py, paper_ballots.py)

# How a ballot reached the vote: cast online by the owner, or entered by staff from a signed
# paper ballot (the owner's own, or a proxy's with the owner's written authorisation).
BALLOT_SOURCES: tuple[str, ...] = ("online", "paper", "proxy")
BALLOT_SOURCE_LABELS = {"online": "线上", "paper": "纸质", "proxy": "委托"}


def replaceable_online(source: str) -> bool:
    """A vote that allows changes lets the owner replace their own online ballot; a paper or
    proxy ballot entered by staff stands until the vote closes (the paper is the record)."""
    return source == "online"


def accepts_paper_ballot(status: str, now: datetime, closes_at: datetime, *, room_voted: bool) -> str | None:
    """Why staff may not enter a paper ballot for a room now (None when they may): only while
    the vote takes ballots, and never for a room that has a standing ballot of any kind."""
    if not accepts_ballots(status, now, closes_at):
        return "vote_not_open"
    if room_voted:
        return "room_already_voted"
    return None


def next_reminder_at(last: datetime | None, interval_hours: float) -> datetime | None:
    """When the next reminder to non-voters may go (None: now, none went yet)."""
    return throttle.next_allowed_at(last, interval_hours)
