"""The Civil Code art. 278 tally as pure functions. No I/O; exact arithmetic only (Decimal
areas, Fraction ratios, no float).

Tally (domain.md, "Votes and surveys"):
- total area = sum of the exclusive areas of every room in the electorate;
- total owners = one per room, except that all rooms with one owner key count as one owner,
  and all rooms not yet delivered (`unsold`, `sold`) count together as one owner, the
  developer (SPC interpretation 法释〔2009〕7号, art. 9);
- quorum: participating area >= 2/3 of total area AND participating owners >= 2/3 of total
  owners (abstaining is participating);
- ordinary matter: agreeing area > 1/2 of participating area AND agreeing owners > 1/2 of
  participating owners; major matter: >= 3/4 of both.

Community settings (`community_configs.settings`, frozen into a vote when it opens):
- `multi_room_headcount` — how an owner who holds several rooms (or the developer) and voted
  them differently counts toward the headcount of each option. Default `"unanimous"`: the owner
  counts for an option only when every room they voted chose it; otherwise the owner took
  part (quorum) but counts for no option ("mixed"). `"area_majority"`: the owner counts for the
  option holding the most area among their voted rooms (a tie counts as mixed).
  `"proportional"`: the owner's one head is split evenly among their voted rooms.
- `non_voters_follow_majority` — the contested rule some management statutes adopt ("未参与
  表决的业主视为同意多数意见"). Default off. When on and at least one ballot exists, the area
  of every room without a ballot is counted as taking part and added to the option holding the
  strictly largest participating area, and every owner without any ballot is counted as taking
  part and added to the option with the strictly largest participating headcount. With a tie
  for the largest, the non-voters stay non-voters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, TypedDict

from services.votes.rules import DEFAULT_COMMUNITY_SETTINGS, MOTION_OPTIONS

UNDELIVERED_STATES = frozenset({"unsold", "sold"})
DEVELOPER_UNIT = "developer"

QUORUM = Fraction(2, 3)
ORDINARY_MAJORITY = Fraction(1, 2)  # strictly more than
MAJOR_MAJORITY = Fraction(3, 4)  # at least

HEADCOUNT_MODES = ("unanimous", "area_majority", "proportional")

Outcome = Literal["passed", "rejected", "no_quorum"]

AREA_QUANTUM = Decimal("0.01")


@dataclass(frozen=True)
class Elector:
    """A room of the electorate snapshot."""

    room_id: str
    area: Decimal
    state: str
    owner_key: str | None


@dataclass(frozen=True)
class TallyRules:
    multi_room_headcount: str = "unanimous"
    non_voters_follow_majority: bool = False

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> TallyRules:
        merged = {**DEFAULT_COMMUNITY_SETTINGS, **(settings or {})}
        return cls(
            multi_room_headcount=str(merged["multi_room_headcount"]),
            non_voters_follow_majority=bool(merged["non_voters_follow_majority"]),
        )


@dataclass(frozen=True)
class MotionTally:
    matter: str
    total_area: Decimal
    total_owners: int
    participating_area: Decimal
    participating_owners: Fraction
    area_by_option: dict[str, Decimal]
    owners_by_option: dict[str, Fraction]
    # Owners who took part but, under the headcount mode, count for no single option.
    mixed_owners: Fraction
    ballots: int
    deemed_area: Decimal = Decimal("0.00")
    deemed_owners: Fraction = Fraction(0)
    quorum_met: bool = False
    outcome: Outcome = "no_quorum"

    @property
    def agree_area(self) -> Decimal:
        return self.area_by_option["agree"]

    @property
    def agree_owners(self) -> Fraction:
        return self.owners_by_option["agree"]


def owner_unit(elector: Elector) -> str:
    """The tally key of the room's owner: the developer for undelivered rooms, else the buyer's
    owner key, else the room itself."""
    if elector.state in UNDELIVERED_STATES:
        return DEVELOPER_UNIT
    if elector.owner_key:
        return "key:" + elector.owner_key
    return "room:" + elector.room_id


def ratio(part: Decimal | Fraction | int, whole: Decimal | Fraction | int) -> Fraction:
    """part/whole exactly (0 when whole is 0)."""
    if whole == 0:
        return Fraction(0)
    return Fraction(part) / Fraction(whole)


def quorum_met(part_area: Decimal, total_area: Decimal, part_owners: Fraction, total_owners: int) -> bool:
    if total_area <= 0 or total_owners <= 0:
        return False
    return ratio(part_area, total_area) >= QUORUM and ratio(part_owners, total_owners) >= QUORUM


def motion_passes(
    matter: str, agree_area: Decimal, part_area: Decimal, agree_owners: Fraction, part_owners: Fraction
) -> bool:
    if part_area <= 0 or part_owners <= 0:
        return False
    area, owners = ratio(agree_area, part_area), ratio(agree_owners, part_owners)
    if matter == "major":
        return area >= MAJOR_MAJORITY and owners >= MAJOR_MAJORITY
    return area > ORDINARY_MAJORITY and owners > ORDINARY_MAJORITY


@dataclass
class MotionAggregate:
    """What the tally of one motion needs, as the database can aggregate it: totals of the
    electorate, area per option, owners whose voted rooms all chose one option, and the room
    details of the (rare) owners who voted their rooms differently."""

    total_area: Decimal = Decimal(0)
    total_owners: int = 0
    area_by_option: dict[str, Decimal] = field(default_factory=lambda: {o: Decimal(0) for o in MOTION_OPTIONS})
    rooms_by_option: dict[str, int] = field(default_factory=lambda: {o: 0 for o in MOTION_OPTIONS})
    single_minded_owners: dict[str, int] = field(default_factory=lambda: {o: 0 for o in MOTION_OPTIONS})
    # One entry per split owner: {option: (area, rooms)}.
    split_owners: list[dict[str, tuple[Decimal, int]]] = field(default_factory=list)
    # Split owners counted without their details (enough for the "unanimous" mode).
    split_owners_uncounted_details: int = 0


def aggregate_motion(electorate: Iterable[Elector], choices: Mapping[str, str]) -> MotionAggregate:
    """The aggregate of one motion in one pass over the electorate (the pure counterpart of
    the service's SQL aggregation). `choices` maps room ids to agree/disagree/abstain."""
    agg = MotionAggregate()
    units: set[str] = set()
    voted: dict[str, dict[str, tuple[Decimal, int]]] = {}
    for e in electorate:
        agg.total_area += e.area
        unit = owner_unit(e)
        units.add(unit)
        choice = choices.get(e.room_id)
        if choice is None:
            continue
        agg.area_by_option[choice] += e.area
        agg.rooms_by_option[choice] += 1
        per_option = voted.setdefault(unit, {})
        area, rooms = per_option.get(choice, (Decimal(0), 0))
        per_option[choice] = (area + e.area, rooms + 1)
    agg.total_owners = len(units)
    for per_option in voted.values():
        if len(per_option) == 1:
            agg.single_minded_owners[next(iter(per_option))] += 1
        else:
            agg.split_owners.append(per_option)
    return agg


def needs_split_details(rules: TallyRules) -> bool:
    """Whether the tally must know how split owners divided their rooms (else a count does)."""
    return rules.multi_room_headcount != "unanimous"


def _split_owner_headcount(per_option: Mapping[str, tuple[Decimal, int]], mode: str) -> dict[str, Fraction]:
    """How an owner who voted their rooms differently counts ({} = for no option)."""
    if mode == "proportional":
        rooms = sum(n for _, n in per_option.values())
        return {opt: Fraction(n, rooms) for opt, (_, n) in per_option.items()}
    if mode == "area_majority":
        best = max(a for a, _ in per_option.values())
        leaders = [opt for opt, (a, _) in per_option.items() if a == best]
        if len(leaders) == 1:
            return {leaders[0]: Fraction(1)}
    return {}


def _strict_leader(values: Mapping[str, Decimal | Fraction]) -> str | None:
    best = max(values.values())
    if best <= 0:
        return None
    leaders = [k for k, v in values.items() if v == best]
    return leaders[0] if len(leaders) == 1 else None


def tally_aggregate(agg: MotionAggregate, matter: str, rules: TallyRules = TallyRules()) -> MotionTally:
    """The art. 278 outcome of one motion from its aggregate."""
    area_by_option = dict(agg.area_by_option)
    owners_by_option = {opt: Fraction(agg.single_minded_owners.get(opt, 0)) for opt in MOTION_OPTIONS}
    if agg.split_owners_uncounted_details and rules.multi_room_headcount != "unanimous":
        raise ValueError("this headcount mode needs the details of owners who split their votes")
    mixed = Fraction(agg.split_owners_uncounted_details)
    for per_option in agg.split_owners:
        shares = _split_owner_headcount(per_option, rules.multi_room_headcount)
        if not shares:
            mixed += 1
        for opt, share in shares.items():
            owners_by_option[opt] += share
    voting_owners = (
        sum(agg.single_minded_owners.values()) + len(agg.split_owners) + agg.split_owners_uncounted_details
    )
    part_area = sum(area_by_option.values(), Decimal(0))
    part_owners = Fraction(voting_owners)
    ballots = sum(agg.rooms_by_option.values())

    deemed_area, deemed_owners = Decimal(0), Fraction(0)
    if rules.non_voters_follow_majority and ballots:
        area_leader = _strict_leader(area_by_option)
        nonvoting_area = agg.total_area - part_area
        if area_leader is not None and nonvoting_area > 0:
            deemed_area = nonvoting_area
            area_by_option[area_leader] += deemed_area
            part_area += deemed_area
        owners_leader = _strict_leader(owners_by_option)
        nonvoting_owners = agg.total_owners - voting_owners
        if owners_leader is not None and nonvoting_owners > 0:
            deemed_owners = Fraction(nonvoting_owners)
            owners_by_option[owners_leader] += deemed_owners
            part_owners += deemed_owners

    has_quorum = quorum_met(part_area, agg.total_area, part_owners, agg.total_owners)
    outcome: Outcome = "no_quorum"
    if has_quorum:
        passes = motion_passes(matter, area_by_option["agree"], part_area, owners_by_option["agree"], part_owners)
        outcome = "passed" if passes else "rejected"
    return MotionTally(
        matter=matter,
        total_area=agg.total_area,
        total_owners=agg.total_owners,
        participating_area=part_area,
        participating_owners=part_owners,
        area_by_option=area_by_option,
        owners_by_option=owners_by_option,
        mixed_owners=mixed,
        ballots=ballots,
        deemed_area=deemed_area,
        deemed_owners=deemed_owners,
        quorum_met=has_quorum,
        outcome=outcome,
    )


def tally_motion(
    electorate: Iterable[Elector],
    choices: Mapping[str, str],
    matter: str,
    rules: TallyRules = TallyRules(),
) -> MotionTally:
    """The art. 278 tally of one motion from the electorate and each room's choice; rooms
    outside the electorate are ignored."""
    return tally_aggregate(aggregate_motion(electorate, choices), matter, rules)


# --- presenting numbers (strings, never floats) -------------------------------------------


def area_str(value: Decimal) -> str:
    return str(value.quantize(AREA_QUANTUM))


def fraction_str(value: Fraction) -> str:
    return str(value)


class Thresholds(TypedDict):
    quorum_area: str
    quorum_owners: str
    agree_area: str
    agree_owners: str


def threshold_strings(matter: str) -> Thresholds:
    return {
        "quorum_area": ">= 2/3",
        "quorum_owners": ">= 2/3",
        "agree_area": ">= 3/4" if matter == "major" else "> 1/2",
        "agree_owners": ">= 3/4" if matter == "major" else "> 1/2",
    }
