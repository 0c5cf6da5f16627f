"""Billing's rules without HTTP: periods, fee versions, line rounding, rates, ages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from services.billing import rules


@dataclass
class V:
    code: str = "wuye"
    kind: str = "per_area"
    rate_fen: int = 235
    vacant_percent: int = 100
    effective_from: int = rules.month_index(2026, 1)
    active: bool = True
    id: str = "v"
    name: str = "物业费"


@pytest.mark.parametrize(
    ("text", "first", "months"),
    [
        ("2026-12", rules.month_index(2026, 12), 1),
        ("2026-Q1", rules.month_index(2026, 1), 3),
        ("2026-Q4", rules.month_index(2026, 10), 3),
        ("2026", rules.month_index(2026, 1), 12),
    ],
)
def test_periods_parse_to_their_months(text: str, first: int, months: int) -> None:
    p = rules.parse_period(text)
    assert p is not None and (p.first_month, p.months) == (first, months)


@pytest.mark.parametrize("text", ["", "2026-13", "2026-00", "2026-Q5", "26-01", "2026-1", "1999-01", "x"])
def test_bad_periods_are_refused(text: str) -> None:
    assert rules.parse_period(text) is None


@pytest.mark.parametrize(
    ("version", "area", "state", "months", "fen"),
    [
        (V(), "89.50", "delivered", 1, 21033),  # 210.325 → half up → 210.33
        (V(), "100.00", "delivered", 3, 70500),
        (V(rate_fen=185), "0.01", "delivered", 1, 2),  # 1.85 分 → 2
        (V(rate_fen=150), "0.01", "delivered", 1, 2),  # 1.5 分 → half up → 2
        (V(rate_fen=149), "0.01", "delivered", 1, 1),
        (V(vacant_percent=70), "89.50", "sold", 1, 14723),  # 147.2275 → 147.23
        (V(vacant_percent=70), "89.50", "unsold", 1, 14723),
        (V(vacant_percent=70), "89.50", "delivered", 1, 21033),
        (V(kind="fixed", rate_fen=1000), "89.50", "delivered", 12, 12000),
        (V(kind="fixed", rate_fen=1000, vacant_percent=0), "89.50", "unsold", 1, 0),
        (V(kind="fixed", rate_fen=333, vacant_percent=50), "1.00", "sold", 1, 167),  # 166.5 → 167
    ],
)
def test_a_line_is_rounded_half_up_to_the_fen_once(version: V, area: str, state: str, months: int, fen: int) -> None:
    assert rules.line_amount_fen(version, area, state, months) == fen


def test_the_rounding_is_per_line_not_per_month() -> None:
    # 3 months at 210.325 元 is 630.975 → 630.98 once, not 3 × 210.33 = 630.99.
    assert rules.line_amount_fen(V(), "89.50", "delivered", 3) == 63098


def test_version_in_force_is_the_latest_not_after_the_period_and_stopped_ones_charge_nothing() -> None:
    jan, jul = rules.month_index(2026, 1), rules.month_index(2026, 7)
    old, new = V(id="old", effective_from=jan), V(id="new", effective_from=jul, rate_fen=260)
    gone = V(code="laji", id="g2", effective_from=jul, active=False)
    laji = V(code="laji", id="g1", effective_from=jan, kind="fixed")
    versions = [old, new, laji, gone]
    assert [v.id for v in rules.versions_in_force(versions, rules.month_index(2026, 6))] == ["g1", "old"]
    assert [v.id for v in rules.versions_in_force(versions, jul)] == ["new"]
    assert rules.versions_in_force(versions, rules.month_index(2025, 12)) == []


def test_zero_lines_are_left_out_of_a_bill() -> None:
    lines = rules.bill_lines([V(vacant_percent=0)], "80.00", "unsold", 1)
    assert lines == []


@pytest.mark.parametrize(
    ("paid", "billed", "rate"),
    [(0, 100, "0.00"), (100, 100, "100.00"), (7, 8, "87.50"), (1, 3, "33.33"), (2, 3, "66.67"), (0, 0, None)],
)
def test_collection_rate_is_exact_with_two_decimals(paid: int, billed: int, rate: str | None) -> None:
    assert rules.collection_rate(paid, billed) == rate


def test_yuan_formats_fen_exactly() -> None:
    assert [rules.yuan(x) for x in (0, 5, 21033, -150)] == ["0.00", "0.05", "210.33", "-1.50"]


def test_overdue_days_count_shanghai_calendar_days() -> None:
    due = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 2027-01-01 00:00 Shanghai
    assert rules.overdue_days(due, due - timedelta(hours=1)) == 0
    assert rules.overdue_days(due, due + timedelta(hours=8)) == 0
    assert rules.overdue_days(due, due + timedelta(days=1)) == 1
    assert [rules.age_bucket(d) for d in (0, 30, 31, 90, 91, 365, 366)] == [
        "0-30", "0-30", "31-90", "31-90", "91-180", "181-365", "365+",
    ]


def test_due_cutoff_selects_bills_at_least_n_days_overdue() -> None:
    now = datetime(2027, 3, 1, 4, 0, tzinfo=UTC)
    cutoff = rules.due_cutoff(now, 30)
    for days in (29, 30, 31):
        due = datetime(2027, 3, 1, tzinfo=rules.SHANGHAI) - timedelta(days=days)
        assert (due < cutoff) == (rules.overdue_days(due, now) >= 30), days


def test_notify_freshness_window() -> None:
    now = datetime(2027, 1, 10, tzinfo=UTC)
    ts = int(now.timestamp())
    assert rules.notify_is_fresh(str(ts - 300), now, 300)
    assert not rules.notify_is_fresh(str(ts - 301), now, 300)
    assert not rules.notify_is_fresh("x", now, 300)


def test_area_must_have_two_decimals_at_most() -> None:
    with pytest.raises(ValueError):
        rules.area_hundredths("1.005")
