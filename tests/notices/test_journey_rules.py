"""The rules behind resend, the care list and activities (services/notices/rules.py, journey_rules.py). No I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notices import journey_rules, rules

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    "status,expires_at,expected",
    [
        ("published", None, True),
        ("published", NOW + H, True),
        ("published", NOW - H, False),
        ("draft", None, False),
        ("submitted", None, False),
        ("scheduled", None, False),
        ("withdrawn", None, False),
    ],
)
def test_only_a_live_published_notice_is_resent(status, expires_at, expected) -> None:
    assert rules.can_resend(status, expires_at, NOW) is expected


@pytest.mark.parametrize("reason,ok", [("", False), ("   ", False), ("a", False), ("回访", True), (" 燃气泄漏回访 ", True)])
def test_a_reveal_needs_a_written_reason(reason, ok) -> None:
    assert journey_rules.reveal_reason_ok(reason) is ok


def test_flagged_households_are_called_first_then_by_room() -> None:
    rooms = [("1栋103", False), ("1栋102", True), ("1栋101", False), ("2栋101", True)]
    ordered = sorted(rooms, key=lambda r: journey_rules.unread_call_order(r[1], r[0]))
    assert [r[0] for r in ordered] == ["1栋102", "2栋101", "1栋101", "1栋103"]


@pytest.mark.parametrize(
    "starts,deadline,capacity,limit,problem",
    [
        (NOW + 48 * H, NOW + 24 * H, 10, 2, None),
        (NOW + 48 * H, NOW + 48 * H, 10, 2, None),  # sign-up open until the start
        (NOW + 48 * H, NOW + 49 * H, 10, 2, "报名截止时间不能晚于活动开始时间"),
        (NOW - H, NOW - 2 * H, 10, 2, "活动开始时间必须晚于当前时间"),
        (NOW + 48 * H, NOW - H, 10, 2, "报名截止时间必须晚于当前时间"),
        (NOW + 48 * H, NOW + H, 0, 1, "名额至少为 1 人"),
        (NOW + 48 * H, NOW + H, 10, 0, "每户限报人数至少为 1 人"),
    ],
)
def test_activity_problem(starts, deadline, capacity, limit, problem) -> None:
    assert journey_rules.activity_problem(starts, deadline, capacity, limit, NOW) == problem


@pytest.mark.parametrize(
    "confirmed,people,capacity,waiting,expected",
    [
        (0, 1, 1, False, "confirmed"),
        (1, 1, 1, False, "waitlisted"),
        (2, 2, 3, False, "waitlisted"),  # a household is not split
        (0, 1, 5, True, "waitlisted"),  # nobody overtakes the waitlist
    ],
)
def test_placement(confirmed, people, capacity, waiting, expected) -> None:
    assert journey_rules.placement(confirmed, people, capacity, waiting) == expected


@pytest.mark.parametrize(
    "free,waiting,moved",
    [
        (2, [("a", 1), ("b", 1), ("c", 1)], ["a", "b"]),
        (2, [("a", 3), ("b", 1)], []),  # the first does not fit: nobody jumps it
        (3, [("a", 2), ("b", 1)], ["a", "b"]),
        (0, [("a", 1)], []),
    ],
)
def test_waitlist_moves_up_in_order(free, waiting, moved) -> None:
    assert journey_rules.promotions(free, waiting) == moved


@pytest.mark.parametrize("taken,people,limit,fits", [(0, 2, 2, True), (1, 2, 2, False), (1, 1, 2, True)])
def test_household_limit(taken, people, limit, fits) -> None:
    assert journey_rules.fits_household(taken, people, limit) is fits


@pytest.mark.parametrize(
    "starts,due",
    [(NOW + 3 * H, False), (NOW + 2 * H, True), (NOW + H, True), (NOW, False), (NOW - H, False)],
)
def test_reminder_due_within_the_lead_before_the_start(starts, due) -> None:
    assert journey_rules.reminder_due(starts, NOW, 120) is due


def test_signup_open_until_the_deadline() -> None:
    assert journey_rules.signup_open(NOW + H, NOW) and not journey_rules.signup_open(NOW, NOW)
