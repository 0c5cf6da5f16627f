"""The one clock: wall time until set, then moved only by the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.clock import Clock

T0 = datetime(2020, 11, 30, 14, 0, tzinfo=UTC)


def test_an_unset_clock_follows_the_wall_clock():
    before = datetime.now(UTC)
    assert before <= Clock().now() <= datetime.now(UTC)


def test_a_set_clock_stands_still_until_advanced_either_way():
    clock = Clock(T0)
    assert clock.now() == T0
    clock.advance(minutes=4, seconds=59)
    assert clock.now() == T0 + timedelta(minutes=4, seconds=59)
    clock.advance(timedelta(hours=1))
    assert clock.now() == T0 + timedelta(hours=1, minutes=4, seconds=59)


def test_set_none_returns_to_wall_time_and_naive_moments_are_refused():
    clock = Clock(T0)
    clock.set(None)
    assert clock.now() > T0
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 11, 30, 14, 0))
