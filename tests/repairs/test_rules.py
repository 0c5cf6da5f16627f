"""The state machine and the other pure rules, table-driven, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.repairs import rules
from services.repairs.errors import ActionNotAllowed, InvalidTicket, TransitionNotAllowed

# domain.md (Repairs), written out independently of rules.TRANSITIONS:
# state, action -> next state, who (R reporter, H household, D desk, A assignee, P crew of the
# department while the ticket is in its pool, S system)
SPEC = """
submitted   accept     accepted     D
submitted   accept_assign assigned  D
submitted   cancel     cancelled    RHD
submitted   urge       submitted    RH
accepted    assign     assigned     D
accepted    cancel     cancelled    RHD
accepted    urge       accepted     RH
accepted    claim      assigned     P
assigned    assign     assigned     D
assigned    start      in_progress  A
assigned    cancel     cancelled    RHD
assigned    urge       assigned     RH
in_progress hold       on_hold      A
in_progress resolve    resolved     A
in_progress assign     assigned     D
in_progress cancel     cancelled    D
in_progress urge       in_progress  RH
on_hold     resume     in_progress  A
on_hold     assign     assigned     D
on_hold     cancel     cancelled    D
on_hold     urge       on_hold      RH
resolved    confirm    closed       RH
resolved    reopen     assigned     RH
resolved    auto_close closed       S
"""
_ROLE = {"R": "reporter", "H": "household", "D": "desk", "A": "assignee", "P": "pool", "S": "system"}
EXPECTED = {
    (state, action): (to, {_ROLE[c] for c in who})
    for state, action, to, who in (line.split() for line in SPEC.strip().splitlines())
}
CASES = [(s, a, r) for s in rules.STATUSES for a in rules.ACTIONS for r in rules.ROLES]


def test_the_table_is_exactly_the_domain_rules():
    assert {k: (v.to, set(v.roles)) for k, v in rules.TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize(("status", "action", "role"), CASES)
def test_every_state_action_role(status, action, role):
    expected = EXPECTED.get((status, action))
    if expected is None:
        with pytest.raises(TransitionNotAllowed) as exc:
            rules.decide(status, action, {role})
        assert exc.value.status_code == 409 and "不能执行" in exc.value.message
    elif role not in expected[1]:
        with pytest.raises(ActionNotAllowed) as exc:
            rules.decide(status, action, {role})
        assert exc.value.status_code == 403 and "没有权限" in exc.value.message
    else:
        assert rules.decide(status, action, {role}) == expected[0]


def test_closed_and_cancelled_are_final():
    for status in ("closed", "cancelled"):
        for role in rules.ROLES:
            assert rules.actions_for(status, {role}) == []


def test_a_manager_who_reported_may_act_in_either_role():
    roles = {"reporter", "desk"}
    assert rules.actions_for("submitted", roles) == ["accept", "accept_assign", "cancel", "urge"]
    assert rules.actor_role("submitted", "accept", roles) == "desk"
    assert rules.actor_role("submitted", "cancel", roles) == "reporter"


def test_urgent_tickets_get_a_short_arrive_deadline_and_the_same_acknowledge():
    t0 = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # midnight in Shanghai
    kw = {"acknowledge_minutes": 5, "arrive_minutes": 240, "resolve_minutes": 1440,
          "urgent_arrive_minutes": 30}
    normal = rules.deadlines(t0, urgent=False, **kw)
    urgent = rules.deadlines(t0, urgent=True, **kw)
    assert normal.acknowledge == urgent.acknowledge == t0 + timedelta(minutes=5)
    assert normal.arrive == t0 + timedelta(hours=4) and urgent.arrive == t0 + timedelta(minutes=30)
    assert urgent.resolve == t0 + timedelta(days=1)


def test_breached_clocks_only_counts_running_unrecorded_clocks():
    t0 = datetime(2026, 11, 25, tzinfo=UTC)
    due = {"acknowledge": t0, "arrive": t0, "resolve": t0 + timedelta(hours=1)}
    none = {"acknowledge": False, "arrive": False, "resolve": False}
    assert rules.breached_clocks("submitted", t0, due, none) == ["acknowledge", "arrive"]
    assert rules.breached_clocks("accepted", t0, due, none) == ["arrive"]
    assert rules.breached_clocks("in_progress", t0 + timedelta(hours=2), due, none) == ["resolve"]
    assert rules.breached_clocks("submitted", t0, due, none | {"acknowledge": True}) == ["arrive"]
    assert rules.breached_clocks("resolved", t0 + timedelta(days=9), due, none) == []


def test_urge_once_per_interval():
    t0 = datetime(2026, 11, 25, tzinfo=UTC)
    assert rules.may_urge(None, t0, 10)
    assert not rules.may_urge(t0, t0 + timedelta(minutes=9, seconds=59), 10)
    assert rules.may_urge(t0, t0 + timedelta(minutes=10), 10)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("3号楼电梯", "3号楼 电梯", True),
        ("3号楼电梯", "３号楼电梯间", True),  # full-width digit, containment
        ("小区东门道闸", "东门 道闸 坏了", True),
        ("3号楼电梯", "5号楼电梯", False),
        ("地下车库B区", "游泳池", False),
        ("", "游泳池", False),
    ],
)
def test_similar_places(a, b, same):
    assert rules.similar_places(a, b) is same


@pytest.mark.parametrize(
    ("phone", "ok"),
    [("13800138000", True), ("021-66668888", True), ("02166668888", True), ("12345", False),
     ("1380013800a", False), ("23800138000", False)],
)
def test_phone_format(phone, ok):
    assert rules.valid_phone(phone) is ok


# action, role, what is given -> the error code refusing it (None: nothing is missing)
REQUIREMENTS = [
    ("hold", "assignee", {}, "reason_required"),
    ("hold", "assignee", {"note": "等待配件"}, None),
    ("cancel", "desk", {}, "reason_required"),
    ("cancel", "desk", {"note": "业主已自行处理"}, None),
    ("cancel", "reporter", {}, None),  # a reporter need not say why
    ("resolve", "assignee", {}, "photo_required"),
    ("resolve", "assignee", {"photo_ids": ["p1"]}, None),
    ("confirm", "reporter", {}, "rating_required"),
    ("confirm", "household", {"rating": 1}, None),
    ("assign", "desk", {}, "assignee_required"),
    ("assign", "desk", {"assignee_id": "crew-1"}, None),
    ("accept", "desk", {}, None),
    ("urge", "reporter", {}, None),
    ("auto_close", "system", {}, None),
]


@pytest.mark.parametrize(("action", "role", "given", "code"), REQUIREMENTS)
def test_what_each_step_needs(action, role, given, code):
    inputs = {"note": None, "assignee_id": None, "photo_ids": [], "rating": None} | given
    if code is None:
        rules.require_inputs(action, role, **inputs)
    else:
        with pytest.raises(InvalidTicket) as exc:
            rules.require_inputs(action, role, **inputs)
        assert exc.value.code == code and exc.value.status_code == 422


def test_the_requirement_tables_name_only_real_actions():
    tables = (rules.NEEDS_NOTE, rules.NEEDS_NOTE_FOR_DESK, rules.NEEDS_ASSIGNEE,
              rules.NEEDS_PHOTOS, rules.NEEDS_RATING)
    for table in tables:
        assert table <= set(rules.USER_ACTIONS)


def test_a_step_taken_late_is_a_breach_unless_it_cancels():
    t0 = datetime(2026, 11, 25, tzinfo=UTC)
    due = {"acknowledge": t0, "arrive": t0 + timedelta(hours=1), "resolve": t0 + timedelta(days=1)}
    none = {"acknowledge": False, "arrive": False, "resolve": False}
    late = t0 + timedelta(minutes=7)
    assert rules.late_clocks("submitted", "accepted", "accept", late, due, none) == ["acknowledge"]
    assert rules.late_clocks("submitted", "accepted", "accept", t0 - timedelta(seconds=1), due,
                             none) == []
    assert rules.late_clocks("submitted", "cancelled", "cancel", late, due, none) == []
    assert rules.late_clocks("submitted", "submitted", "urge", late, due, none) == []
    assert rules.late_clocks("submitted", "accepted", "accept", late, due,
                             none | {"acknowledge": True}) == []




@pytest.mark.parametrize(
    ("text", "erased"),
    [
        ("请联系13800138000", "请联系***"),
        ("电话 138 0013 8000 或 138-0013-8000", "电话 *** 或 ***"),
        ("3栋502李明家厨房漏水，李明在家", "已注销用户家厨房漏水，已注销用户在家"),
        ("王师傅说明天来", "王师傅说明天来"),  # someone else's name stays
        ("李家的事", "李家的事"),  # a one-character name is not searched for
        (None, None),
        ("", ""),
    ],
)
def test_a_deleted_account_is_erased_from_free_text(text, erased):
    assert rules.erase_mentions(text, {"13800138000"}, {"3栋502李明", "李明", "李"}) == erased


# --- the staff side: dispatch, the pool, the queue ---------------------------------------------

FILED = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
DUE = {
    "acknowledge": FILED + timedelta(minutes=5),
    "arrive": FILED + timedelta(minutes=60),
    "resolve": FILED + timedelta(hours=24),
}


@pytest.mark.parametrize(
    ("status", "due"),
    [("submitted", "acknowledge"), ("accepted", "arrive"), ("assigned", "arrive"),
     ("in_progress", "resolve"), ("on_hold", "resolve"), ("resolved", "resolve"), ("closed", "resolve")],
)
def test_the_next_due_clock_is_the_earliest_still_running(status, due):
    assert rules.next_due(status, DUE) == DUE[due]


def test_a_short_arrive_deadline_comes_before_the_acknowledgement():
    assert rules.next_due("submitted", DUE | {"arrive": FILED + timedelta(minutes=1)}) == FILED + timedelta(minutes=1)


def test_breach_flags_count_recorded_and_unswept_breaches_of_running_clocks():
    none = dict.fromkeys(rules.CLOCK_RUNNING, False)
    later = FILED + timedelta(minutes=61)
    assert rules.breach_flags("assigned", later, DUE, none) == {"acknowledge": False, "arrive": True, "resolve": False}
    # In progress, the arrive clock stopped: only what was recorded counts.
    assert rules.breach_flags("in_progress", later, DUE, none) == none
    assert rules.breach_flags("in_progress", later, DUE, none | {"arrive": True})["arrive"] is True


def test_status_filters():
    assert rules.status_set(None) is None and rules.status_set(" ") is None
    assert rules.status_set("open") == ("assigned", "in_progress", "on_hold")
    assert rules.status_set("open,resolved,assigned") == ("assigned", "in_progress", "on_hold", "resolved")
    with pytest.raises(ValueError):
        rules.status_set("open,lost")


def test_accept_assign_goes_to_the_named_person_the_rule_or_the_pool():
    crew_rule = rules.AssignmentRule("crew", "wang")
    assert rules.accept_assign_target("li", crew_rule) == ("assigned", "li")
    assert rules.accept_assign_target(None, crew_rule) == ("assigned", "wang")
    assert rules.accept_assign_target(None, rules.AssignmentRule("pool")) == ("accepted", None)
    assert rules.accept_assign_target(None, None) == ("accepted", None)


def test_only_crew_with_a_department_are_assignable():
    assert rules.assignable("crew", "repair")
    assert not rules.assignable("manager", None) and not rules.assignable("manager", "repair")
    assert not rules.assignable("crew", None) and not rules.assignable(None, None)
