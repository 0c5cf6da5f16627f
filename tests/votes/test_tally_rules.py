"""The art. 278 tally as a pure function: each boundary, owner counting, community settings,
and a property test against a slow, obviously-correct reference."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.votes import rules, tally, tally_rules
from services.votes.tally_rules import Elector, TallyRules, tally_motion


@dataclass(frozen=True)
class R:
    """A room for a table row: area as text, its owner key, state, and the choice (or None)."""

    area: str
    choice: str | None = None
    key: str | None = None
    state: str = "delivered"


def run(rooms: list[R], matter: str = "ordinary", **settings: object) -> tally_rules.MotionTally:
    electorate = [
        Elector(room_id=f"r{n}", area=Decimal(r.area), state=r.state, owner_key=r.key or (f"k{n}" if r.state == "delivered" else None))
        for n, r in enumerate(rooms)
    ]
    choices = {f"r{n}": r.choice for n, r in enumerate(rooms) if r.choice is not None}
    return tally_motion(electorate, choices, matter, TallyRules.from_settings(settings))


A, D, X = "agree", "disagree", "abstain"

BOUNDARIES = [
    # (story, rooms, matter, outcome)
    ("quorum at exactly 2/3 of area and owners", [R("100.00", A), R("100.00", A), R("100.00")], "ordinary", "passed"),
    ("area one hundredth below 2/3", [R("100.00", A), R("99.99", A), R("100.01")], "ordinary", "no_quorum"),
    ("owners below 2/3 although area is enough", [R("300.00", A), R("100.00", A), R("1.00"), R("1.00")], "ordinary", "no_quorum"),
    ("owners at exactly 2/3 with plenty of area", [R("200.00", A), R("50.00", A), R("50.00")], "ordinary", "passed"),
    ("abstaining takes part in the quorum", [R("100.00", A), R("100.00", X), R("100.00")], "ordinary", "rejected"),
    ("ordinary: agreeing area exactly 1/2 is not more than half", [R("150.00", A), R("50.00", A), R("200.00", D)], "ordinary", "rejected"),
    ("ordinary: agreeing area a hundredth above 1/2", [R("150.01", A), R("50.00", A), R("200.00", D)], "ordinary", "passed"),
    ("ordinary: agreeing owners exactly 1/2", [R("300.00", A), R("100.00", A), R("10.00", D), R("10.00", D)], "ordinary", "rejected"),
    ("ordinary: abstentions count against (share of participants)", [R("100.00", A), R("60.00", X), R("50.00", D)], "ordinary", "rejected"),
    ("major: exactly 3/4 of area and owners", [R("100.00", A), R("100.00", A), R("100.00", A), R("100.00", D)], "major", "passed"),
    ("major: agreeing area a hundredth below 3/4", [R("100.00", A), R("100.00", A), R("99.99", A), R("100.01", D)], "major", "rejected"),
    ("major: owners 3/5 though area is 3/4+", [R("300.00", A), R("300.00", A), R("300.00", A), R("1.00", D), R("1.00", D)], "major", "rejected"),
    ("major: same ballots pass as an ordinary matter", [R("300.00", A), R("300.00", A), R("300.00", A), R("1.00", D), R("1.00", D)], "ordinary", "passed"),
    ("no ballots: no quorum", [R("100.00"), R("100.00")], "ordinary", "no_quorum"),
    ("empty electorate: no quorum", [], "ordinary", "no_quorum"),
]


@pytest.mark.parametrize("story,rooms,matter,outcome", BOUNDARIES, ids=[b[0] for b in BOUNDARIES])
def test_outcome_at_each_boundary(story: str, rooms: list[R], matter: str, outcome: str) -> None:
    assert run(rooms, matter).outcome == outcome


def test_ratios_are_exact_fractions_and_areas_decimals() -> None:
    t = run([R("100.00", A), R("100.00", A), R("100.00")])
    assert t.total_area == Decimal("300.00") and isinstance(t.total_area, Decimal)
    assert tally_rules.ratio(t.participating_area, t.total_area) == Fraction(2, 3)
    assert isinstance(t.participating_owners, Fraction)
    result = tally.motion_result("m", "议题", t)
    assert result["participation"] == {"area": "200.00", "owners": "2", "area_ratio": "2/3", "owners_ratio": "2/3"}
    assert result["thresholds"]["agree_area"] == "> 1/2"
    assert "float" not in repr(result)


def test_rooms_of_one_buyer_count_as_one_owner() -> None:
    rooms = [R("100.00", A, key="wang"), R("100.00", None, key="wang"), R("100.00", A, key="li")]
    t = run(rooms)
    assert t.total_owners == 2
    assert t.participating_owners == 2
    assert t.outcome == "passed"  # area 2/3, owners 2/2


def test_undelivered_rooms_count_together_as_the_developer() -> None:
    rooms = [
        R("90.00", None, state="unsold"),
        R("90.00", None, key="buyer", state="sold"),
        R("90.00", None, key="buyer", state="delivered"),
        R("90.00", None, key="other"),
    ]
    t = run(rooms)
    # developer (unsold + sold), buyer's delivered room, other
    assert t.total_owners == 3
    assert t.total_area == Decimal("360.00")


def test_developer_voting_one_undelivered_room_takes_part_as_one_owner() -> None:
    rooms = [R("50.00", A, state="unsold"), R("50.00", state="sold"), R("100.00", A), R("100.00")]
    t = run(rooms)
    assert t.total_owners == 3 and t.participating_owners == 2
    assert t.participating_area == Decimal("150.00")


SPLIT = [R("100.00", A, key="wang"), R("50.00", D, key="wang"), R("60.00", D, key="li")]


def test_default_headcount_counts_a_split_owner_for_no_option() -> None:
    t = run(SPLIT)
    assert t.participating_owners == 2
    assert t.owners_by_option == {"agree": 0, "disagree": 1, "abstain": 0}
    assert t.mixed_owners == 1


def test_area_majority_headcount_follows_the_larger_area() -> None:
    t = run(SPLIT, multi_room_headcount="area_majority")
    assert t.owners_by_option["agree"] == 1 and t.owners_by_option["disagree"] == 1
    tie = run([R("50.00", A, key="w"), R("50.00", D, key="w")], multi_room_headcount="area_majority")
    assert tie.mixed_owners == 1


def test_proportional_headcount_splits_the_owner_by_rooms() -> None:
    t = run(SPLIT, multi_room_headcount="proportional")
    assert t.owners_by_option["agree"] == Fraction(1, 2)
    assert t.owners_by_option["disagree"] == Fraction(3, 2)
    assert tally.motion_result("m", "t", t)["agreement"]["owners"] == "1/2"


def test_non_voters_follow_the_majority_only_when_the_community_says_so() -> None:
    rooms = [R("100.00", A), R("100.00"), R("100.00"), R("100.00")]
    assert run(rooms).outcome == "no_quorum"
    t = run(rooms, non_voters_follow_majority=True)
    assert t.deemed_area == Decimal("300.00") and t.deemed_owners == 3
    assert t.outcome == "passed"


def test_non_voters_follow_no_one_on_a_tie() -> None:
    rooms = [R("100.00", A), R("100.00", D), R("100.00"), R("100.00"), R("100.00")]
    t = run(rooms, non_voters_follow_majority=True)
    assert t.deemed_area == 0 and t.deemed_owners == 0
    assert t.outcome == "no_quorum"


def test_settings_defaults_are_documented_values() -> None:
    assert TallyRules.from_settings(None) == TallyRules("unanimous", False)
    assert rules.DEFAULT_COMMUNITY_SETTINGS == {"multi_room_headcount": "unanimous", "non_voters_follow_majority": False}


# --- property test against a slow reference ------------------------------------------------


def reference(rooms: list[tuple[int, str, str | None, str | None]], matter: str, mode: str, follow: bool) -> dict:
    """Obviously correct, deliberately slow: areas in integer hundredths, comparisons by
    cross-multiplication, owners found by rescanning the whole list."""

    def owner_of(i: int) -> str:
        _, state, key, _ = rooms[i]
        if state in ("unsold", "sold"):
            return "DEV"
        return "K" + key if key else "R" + str(i)

    owners = []
    for i in range(len(rooms)):
        if owner_of(i) not in owners:
            owners.append(owner_of(i))
    total_area = 0
    for area, _, _, _ in rooms:
        total_area += area
    area_for = {"agree": 0, "disagree": 0, "abstain": 0}
    for area, _, _, choice in rooms:
        if choice is not None:
            area_for[choice] += area
    heads = {"agree": Fraction(0), "disagree": Fraction(0), "abstain": Fraction(0)}
    voting_owners = 0
    for o in owners:
        mine = [i for i in range(len(rooms)) if owner_of(i) == o and rooms[i][3] is not None]
        if not mine:
            continue
        voting_owners += 1
        picked = [rooms[i][3] for i in mine]
        if all(p == picked[0] for p in picked):
            heads[picked[0]] += 1
        elif mode == "proportional":
            for p in picked:
                heads[p] += Fraction(1, len(picked))
        elif mode == "area_majority":
            sums = {p: sum(rooms[i][0] for i in mine if rooms[i][3] == p) for p in set(picked)}
            top = [p for p in sums if all(sums[p] > sums[q] for q in sums if q != p)]
            if top:
                heads[top[0]] += 1
    part_area = area_for["agree"] + area_for["disagree"] + area_for["abstain"]
    part_owners = Fraction(voting_owners)
    if follow and any(r[3] is not None for r in rooms):
        best = [p for p in area_for if all(area_for[p] > area_for[q] for q in area_for if q != p)]
        if best:
            rest = total_area - part_area
            area_for[best[0]] += rest
            part_area += rest
        best = [p for p in heads if all(heads[p] > heads[q] for q in heads if q != p)]
        if best:
            rest = len(owners) - voting_owners
            heads[best[0]] += rest
            part_owners += rest
    quorum = (
        len(owners) > 0
        and total_area > 0
        and 3 * part_area >= 2 * total_area
        and 3 * part_owners >= 2 * len(owners)
    )
    if not quorum:
        outcome = "no_quorum"
    elif matter == "major":
        ok = 4 * area_for["agree"] >= 3 * part_area and 4 * heads["agree"] >= 3 * part_owners
        outcome = "passed" if ok and part_area > 0 else "rejected"
    else:
        ok = 2 * area_for["agree"] > part_area and 2 * heads["agree"] > part_owners
        outcome = "passed" if ok else "rejected"
    return {
        "outcome": outcome,
        "total_owners": len(owners),
        "total_area": total_area,
        "part_area": part_area,
        "part_owners": part_owners,
        "agree_owners": heads["agree"],
        "agree_area": area_for["agree"],
    }


room_strategy = st.tuples(
    st.integers(min_value=1, max_value=30000),
    st.sampled_from(["delivered", "delivered", "delivered", "sold", "unsold"]),
    st.sampled_from([None, "a", "b", "c", "d"]),
    st.sampled_from([None, "agree", "agree", "disagree", "abstain"]),
)


@settings(max_examples=400, deadline=None)
@given(
    rooms=st.lists(room_strategy, max_size=14),
    matter=st.sampled_from(["ordinary", "major"]),
    mode=st.sampled_from(list(tally_rules.HEADCOUNT_MODES)),
    follow=st.booleans(),
)
def test_tally_agrees_with_the_slow_reference(rooms, matter, mode, follow) -> None:
    electorate = [
        Elector(room_id=f"r{i}", area=Decimal(area).scaleb(-2), state=state, owner_key=key)
        for i, (area, state, key, _) in enumerate(rooms)
    ]
    choices = {f"r{i}": c for i, (_, _, _, c) in enumerate(rooms) if c is not None}
    got = tally_motion(electorate, choices, matter, TallyRules(mode, follow))
    want = reference(rooms, matter, mode, follow)
    assert got.outcome == want["outcome"]
    assert got.total_owners == want["total_owners"]
    assert got.total_area == Decimal(want["total_area"]).scaleb(-2)
    assert got.participating_area == Decimal(want["part_area"]).scaleb(-2)
    assert got.participating_owners == want["part_owners"]
    assert got.agree_owners == want["agree_owners"]
    assert got.agree_area == Decimal(want["agree_area"]).scaleb(-2)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(min_value=3, max_value=60),
    unit=st.integers(min_value=1, max_value=5000),
)
def test_exact_two_thirds_is_quorum_and_a_hundredth_less_is_not(n: int, unit: int) -> None:
    """n equal rooms of distinct owners, 3k of them, 2k voting: exactly 2/3 of both."""
    k = n
    rooms = [R(str(Decimal(unit).scaleb(-2)), A if i < 2 * k else None) for i in range(3 * k)]
    assert run(rooms).quorum_met
    rooms[0] = R(str(Decimal(unit - 1).scaleb(-2)) if unit > 1 else "0.00", A)
    rooms[-1] = R(str(Decimal(unit + 1).scaleb(-2)))
    assert not run(rooms).quorum_met
