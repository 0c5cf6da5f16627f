"""Once per interval on one row (services/common/throttle.py): the pure half."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common import throttle

T = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "last,now,ok",
    [(None, T, True), (T, T, False), (T, T + timedelta(hours=5, minutes=59), False), (T, T + timedelta(hours=6), True)],
)
def test_allowed_once_per_interval(last, now, ok) -> None:
    assert throttle.allowed(last, now, 6) is ok
    assert throttle.next_allowed_at(last, 6) == (None if last is None else last + timedelta(hours=6))
