"""Pure notice rules: drafting checks, workflow, targeting, quiet hours, WeChat limits, markup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import DomainError
from services.notices import rules, staff_alert_rules
from services.notices.errors import (
    AudienceEmpty,
    BodyTooLong,
    ExpiryBeforePublish,
    ExpiryInPast,
    ExpiryRequired,
    MarkupNotAllowed,
    NoticeEmpty,
    NoticeTransitionNotAllowed,
    SelfApprovalNotAllowed,
    TitleTooLong,
    UnknownBuildings,
    UnknownUnits,
    WithdrawnNoticeCannotPublish,
)

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
AUTHOR, OTHER = "author", "other"


KNOWN_BUILDINGS = frozenset({"b1", "b2"})
KNOWN_UNITS = frozenset({("b1", "1"), ("b1", None)})


def problem(
    title: str = "停水通知",
    body: str = "明天停水。",
    category: str = "maintenance",
    audience: dict | None = None,
    publish_at: datetime | None = None,
    expires_at: datetime | None = None,
):
    return rules.notice_problem(
        title,
        body,
        category,
        rules.normalize_audience(audience or {"kind": "community"}),
        publish_at=publish_at,
        expires_at=expires_at,
        now=NOW,
        title_max_chars=10,
        body_max_chars=20,
        known_buildings=KNOWN_BUILDINGS,
        known_units=KNOWN_UNITS,
    )


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({}, None),
        ({"title": ""}, NoticeEmpty),
        ({"body": ""}, NoticeEmpty),
        ({"title": "标" * 10}, None),
        ({"title": "标" * 11}, TitleTooLong),
        ({"body": "正" * 20}, None),
        ({"body": "正" * 21}, BodyTooLong),
        ({"title": "<b>通知</b>"}, MarkupNotAllowed),
        ({"body": "见javascript:x"}, MarkupNotAllowed),
        ({"body": "温度<5度"}, None),
        ({"category": "emergency"}, ExpiryRequired),
        ({"category": "emergency", "expires_at": NOW + timedelta(hours=1)}, None),
        ({"expires_at": NOW}, ExpiryInPast),
        (
            {"publish_at": NOW + timedelta(hours=2), "expires_at": NOW + timedelta(hours=2)},
            ExpiryBeforePublish,
        ),
        (
            {"publish_at": NOW + timedelta(hours=1), "expires_at": NOW + timedelta(hours=2)},
            None,
        ),
        ({"audience": {"kind": "buildings", "building_ids": []}}, AudienceEmpty),
        ({"audience": {"kind": "buildings", "building_ids": ["b1", "b2"]}}, None),
        ({"audience": {"kind": "buildings", "building_ids": ["b1", "b9"]}}, UnknownBuildings),
        ({"audience": {"kind": "units", "units": []}}, AudienceEmpty),
        ({"audience": {"kind": "units", "units": [{"building_id": "b1", "unit": "1"}]}}, None),
        ({"audience": {"kind": "units", "units": [{"building_id": "b1", "unit": None}]}}, None),
        (
            {"audience": {"kind": "units", "units": [{"building_id": "b1", "unit": "9"}]}},
            UnknownUnits,
        ),
        ({"audience": {"kind": "roles", "roles": []}}, AudienceEmpty),
        ({"audience": {"kind": "roles", "roles": ["owner"]}}, None),
        # The first problem wins: the text before the expiry before the audience.
        ({"title": "", "category": "emergency"}, NoticeEmpty),
        ({"expires_at": NOW, "audience": {"kind": "roles", "roles": []}}, ExpiryInPast),
    ],
)
def test_notice_problem(fields, expected):
    found = problem(**fields)
    if expected is None:
        assert found is None
    else:
        assert type(found) is expected
        assert found.status_code == 422 and found.message  # a Chinese sentence for the console


def test_notice_problem_names_what_is_unknown_and_the_limits():
    unknown = problem(audience={"kind": "buildings", "building_ids": ["b9", "b1", "b8"]})
    assert (unknown.code, unknown.details) == ("unknown_buildings", {"building_ids": ["b8", "b9"]})
    units = problem(
        audience={
            "kind": "units",
            "units": [{"building_id": "b1", "unit": "1"}, {"building_id": "b2", "unit": "3"}],
        }
    )
    assert (units.code, units.details) == (
        "unknown_units",
        {"units": [{"building_id": "b2", "unit": "3"}]},
    )
    assert problem(title="标" * 11).message == "标题不能超过 10 个字"
    assert problem(body="正" * 21).message == "正文不能超过 20 个字"


def state(
    status: str, category: str = "announcement", publish_at: datetime | None = None
) -> rules.NoticeState:
    return rules.NoticeState(status, category, AUTHOR, publish_at)


@pytest.mark.parametrize(
    "status, category, action, actor, single, publish_at, expected",
    [
        ("draft", "announcement", "submit", AUTHOR, False, None, "submitted"),
        ("submitted", "announcement", "approve", OTHER, False, None, "approved"),
        ("submitted", "announcement", "approve", AUTHOR, True, None, "approved"),
        ("approved", "announcement", "publish", AUTHOR, False, None, "published"),
        (
            "approved",
            "announcement",
            "publish",
            AUTHOR,
            False,
            NOW - timedelta(minutes=1),
            "published",
        ),
        (
            "approved",
            "announcement",
            "publish",
            AUTHOR,
            False,
            NOW + timedelta(hours=2),
            "scheduled",
        ),
        ("draft", "emergency", "publish", AUTHOR, False, None, "published"),
        ("submitted", "emergency", "publish", AUTHOR, False, NOW + timedelta(hours=2), "published"),
        ("published", "announcement", "withdraw", AUTHOR, False, None, "withdrawn"),
        ("scheduled", "announcement", "withdraw", AUTHOR, False, None, "withdrawn"),
    ],
)
def test_workflow_allows(status, category, action, actor, single, publish_at, expected):
    got = rules.next_status(
        state(status, category, publish_at), action, actor_id=actor, single_manager=single, now=NOW
    )
    assert got == expected


@pytest.mark.parametrize(
    "status, category, action, actor, error",
    [
        ("submitted", "announcement", "approve", AUTHOR, SelfApprovalNotAllowed),
        ("withdrawn", "announcement", "publish", AUTHOR, WithdrawnNoticeCannotPublish),
        ("withdrawn", "emergency", "publish", AUTHOR, WithdrawnNoticeCannotPublish),
        ("draft", "announcement", "publish", AUTHOR, NoticeTransitionNotAllowed),
        ("submitted", "announcement", "publish", AUTHOR, NoticeTransitionNotAllowed),
        ("draft", "announcement", "approve", OTHER, NoticeTransitionNotAllowed),
        ("published", "announcement", "publish", AUTHOR, NoticeTransitionNotAllowed),
        ("draft", "announcement", "withdraw", AUTHOR, NoticeTransitionNotAllowed),
        ("expired", "announcement", "withdraw", AUTHOR, NoticeTransitionNotAllowed),
        ("approved", "announcement", "submit", AUTHOR, NoticeTransitionNotAllowed),
    ],
)
def test_workflow_refuses(status, category, action, actor, error):
    with pytest.raises(error) as caught:
        rules.next_status(
            state(status, category), action, actor_id=actor, single_manager=False, now=NOW
        )
    assert isinstance(caught.value, DomainError) and 400 <= caught.value.status_code < 500
    assert caught.value.message  # a Chinese sentence for the console


@pytest.mark.parametrize(
    "audience, building, unit, relation, expected",
    [
        ({"kind": "community"}, "b1", None, "tenant", True),
        ({"kind": "buildings", "building_ids": ["b1"]}, "b1", "1", "owner", True),
        ({"kind": "buildings", "building_ids": ["b1"]}, "b2", "1", "owner", False),
        (
            {"kind": "units", "units": [{"building_id": "b1", "unit": "2"}]},
            "b1",
            "2",
            "family",
            True,
        ),
        (
            {"kind": "units", "units": [{"building_id": "b1", "unit": "2"}]},
            "b1",
            "1",
            "family",
            False,
        ),
        (
            {"kind": "units", "units": [{"building_id": "b1", "unit": "2"}]},
            "b2",
            "2",
            "family",
            False,
        ),
        ({"kind": "roles", "roles": ["owner"]}, "b9", None, "owner", True),
        ({"kind": "roles", "roles": ["owner"]}, "b9", None, "tenant", False),
        (
            {"kind": "buildings", "building_ids": ["b1"], "roles": ["owner", "family"]},
            "b1",
            None,
            "tenant",
            False,
        ),
    ],
)
def test_targeting(audience, building, unit, relation, expected):
    stored = rules.normalize_audience(audience)
    assert rules.targets(stored, building_id=building, unit=unit, relation=relation) is expected


def shanghai(h: int, m: int = 0, day: int = 25) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=rules.SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    "now, urgent, expected",
    [
        (shanghai(12), False, shanghai(12)),
        (shanghai(21, 59), False, shanghai(21, 59)),
        (shanghai(22, 0), False, shanghai(7, 0, day=26)),
        (shanghai(23, 30), False, shanghai(7, 0, day=26)),
        (shanghai(0, 10), False, shanghai(7, 0)),
        (shanghai(6, 59), False, shanghai(7, 0)),
        (shanghai(7, 0), False, shanghai(7, 0)),
        (shanghai(23, 30), True, shanghai(23, 30)),
        (shanghai(3, 0), True, shanghai(3, 0)),
    ],
)
def test_quiet_hours_hold_until_seven_in_shanghai(now, urgent, expected):
    assert rules.release_time(now, urgent=urgent) == expected


def test_values_are_cut_to_wechat_limits():
    data = rules.push_data("一" * 30, "二" * 25, NOW)
    assert data["thing1"]["value"] == "一" * 19 + "…" and len(data["thing2"]["value"]) == 20
    assert data["time3"]["value"] == "2026-11-25 12:00"
    assert rules.cut_value("phrase4", "已经处理完成") == "已经处理…"
    assert rules.cut_value("character_string5", "x" * 32) == "x" * 32


@pytest.mark.parametrize(
    "text, markup",
    [
        ("<script>alert(1)</script>", True),
        ("请点击<a href='x'>这里</a>", True),
        ("<img src=x onerror=alert(1)>", True),
        ("javascript:alert(1)", True),
        ("室外温度<5度，注意防冻；水压>0.3MPa", False),
        ("1<2 且 3>2", False),
    ],
)
def test_markup_is_recognised(text, markup):
    assert rules.looks_like_markup(text) is markup


def test_feed_order_puts_pinned_and_emergency_first_then_newest():
    old, new = NOW - timedelta(days=2), NOW
    keys = {
        "old_pinned": rules.feed_key(True, "rules", old, "a"),
        "emergency": rules.feed_key(False, "emergency", old - timedelta(days=1), "b"),
        "new": rules.feed_key(False, "activity", new, "c"),
        "old": rules.feed_key(False, "announcement", old, "d"),
    }
    assert sorted(keys, key=keys.get) == ["old_pinned", "emergency", "new", "old"]


# --- staff alerts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "department", "ticket_department", "on_desk"),
    [
        ("manager", None, "repair", True),  # a manager of the whole community
        ("manager", "repair", "repair", True),
        ("manager", "cleaning", "repair", False),  # another department's manager
        ("manager", "cleaning", None, True),  # department unknown: every manager
        ("crew", "customer_service", "repair", True),  # 客服 hear every ticket
        ("crew", "repair", "repair", False),  # crew are not the desk
    ],
)
def test_who_is_on_the_desk_of_a_ticket(role, department, ticket_department, on_desk):
    assert staff_alert_rules.on_desk(role, department, ticket_department) is on_desk


def test_pool_is_the_crew_of_the_tickets_department():
    assert staff_alert_rules.in_pool("crew", "repair", "repair")
    assert not staff_alert_rules.in_pool("crew", "cleaning", "repair")
    assert not staff_alert_rules.in_pool("manager", "repair", "repair")
    assert not staff_alert_rules.in_pool("crew", "repair", None)


def test_one_breach_has_one_source_key_whatever_the_event():
    payload = {"ticket_id": "t", "clock": "arrive", "deadline": "2026-11-25T08:00:00Z"}
    assert staff_alert_rules.overdue_source_key(payload) == staff_alert_rules.overdue_source_key(dict(payload))
    assert staff_alert_rules.overdue_source_key(payload) != staff_alert_rules.overdue_source_key(
        {**payload, "clock": "resolve"}
    )
