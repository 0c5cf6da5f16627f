"""The turnout rules (services/votes/rules.py): who may enter a paper ballot when, which
ballot an owner may replace online, and the reminder's rate limit. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common import throttle
from services.votes import rules

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)


@pytest.mark.parametrize(
    "status,now,voted,expected",
    [
        ("open", NOW, False, None),
        ("open", NOW, True, "room_already_voted"),
        ("draft", NOW, False, "vote_not_open"),
        ("scheduled", NOW, False, "vote_not_open"),
        ("closed", NOW, False, "vote_not_open"),
        ("open", LATER, False, "vote_not_open"),  # its closing time has come
        ("closed", NOW, True, "vote_not_open"),  # the window is checked first
    ],
)
def test_paper_ballot_only_while_open_and_for_a_room_without_a_ballot(status, now, voted, expected) -> None:
    assert rules.accepts_paper_ballot(status, now, LATER, room_voted=voted) == expected


@pytest.mark.parametrize("source,expected", [("online", True), ("paper", False), ("proxy", False)])
def test_only_an_online_ballot_is_replaced_online(source, expected) -> None:
    assert rules.replaceable_online(source) is expected


@pytest.mark.parametrize(
    "last,now,expected",
    [
        (None, NOW, True),
        (NOW, NOW, False),
        (NOW, NOW + timedelta(hours=23, minutes=59), False),
        (NOW, NOW + timedelta(hours=24), True),
    ],
)
def test_one_reminder_per_vote_per_interval(last, now, expected) -> None:
    assert throttle.allowed(last, now, 24) is expected
    if last is not None:
        assert rules.next_reminder_at(last, 24) == last + timedelta(hours=24)


def test_every_source_has_a_chinese_label() -> None:
    assert set(rules.BALLOT_SOURCE_LABELS) == set(rules.BALLOT_SOURCES)
