"""The votes rules other than the tally, as tables (no HTTP, no database): the state machine,
who may do what, well-formed votes and ballots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.votes import errors, rules
from services.votes.rules import Answer, ItemSpec

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
EARLIER = NOW - timedelta(days=1)
STATUSES = ("draft", "scheduled", "open", "closed")


# --- the state machine -----------------------------------------------------------------------

STATE_RULES = [
    # (rule, statuses where it holds)
    (rules.can_edit, {"draft"}),
    (rules.can_open, {"draft", "scheduled"}),
    (rules.can_close, {"open"}),
    (rules.has_electorate, {"open", "closed"}),
]


@pytest.mark.parametrize("rule,allowed", STATE_RULES, ids=[r[0].__name__ for r in STATE_RULES])
@pytest.mark.parametrize("status", STATUSES)
def test_each_status_allows_exactly_its_steps(rule, allowed, status) -> None:
    assert rule(status) is (status in allowed)


OPENS_LATER = [
    # (story, status, opens_at, expected)
    ("a draft with a future opening is scheduled", "draft", LATER, True),
    ("a draft without an opening time opens now", "draft", None, False),
    ("a draft whose opening time came opens now", "draft", NOW, False),
    ("a draft whose opening time passed opens now", "draft", EARLIER, False),
    ("a scheduled vote opened by hand opens now", "scheduled", LATER, False),
]


@pytest.mark.parametrize("story,status,opens_at,expected", OPENS_LATER, ids=[o[0] for o in OPENS_LATER])
def test_opening_ahead_of_time_schedules_a_draft(story, status, opens_at, expected) -> None:
    assert rules.opens_later(status, opens_at, NOW) is expected


@pytest.mark.parametrize(
    "closes_at,passed", [(EARLIER, True), (NOW, True), (NOW + timedelta(seconds=1), False)]
)
def test_a_closing_time_at_or_before_now_has_passed(closes_at, passed) -> None:
    assert rules.closing_time_passed(closes_at, NOW) is passed


ACCEPTS = [
    # (status, closes_at, accepts)
    ("open", LATER, True),
    ("open", NOW, False),
    ("open", EARLIER, False),
    ("draft", LATER, False),
    ("scheduled", LATER, False),
    ("closed", LATER, False),
]


@pytest.mark.parametrize("status,closes_at,accepts", ACCEPTS)
def test_ballots_only_while_open_and_before_the_closing_time(status, closes_at, accepts) -> None:
    assert rules.accepts_ballots(status, NOW, closes_at) is accepts


# --- who may do what -------------------------------------------------------------------------


@pytest.mark.parametrize("relation,may", [("owner", True), ("family", False), ("tenant", False)])
def test_only_an_owner_casts_the_rooms_ballot(relation, may) -> None:
    assert rules.can_vote_for(relation) is may


SEE_RESULTS = [
    # (status, manager, live_results, may see)
    ("closed", False, False, True),
    ("closed", True, False, True),
    ("open", True, True, True),
    ("open", True, False, False),
    ("open", False, True, False),
    ("draft", True, True, False),
    ("scheduled", True, True, False),
]


@pytest.mark.parametrize("status,manager,live,may", SEE_RESULTS)
def test_results_after_closing_or_live_to_managers_when_allowed(status, manager, live, may) -> None:
    assert rules.can_see_results(status, manager=manager, live_results=live) is may


@pytest.mark.parametrize(
    "kind,manager,may",
    [("survey", True, True), ("survey", False, False), ("vote", True, False), ("vote", False, False)],
)
def test_free_text_answers_of_surveys_are_for_managers_only(kind, manager, may) -> None:
    assert rules.can_see_free_text(kind, manager=manager) is may


@pytest.mark.parametrize("kind,publishes", [("vote", True), ("survey", False)])
def test_only_votes_publish_each_rooms_choice(kind, publishes) -> None:
    assert rules.can_publish_room_results(kind) is publishes


def test_anonymous_ballots_keep_only_the_day() -> None:
    moment = datetime(2026, 12, 1, 9, 41, 7, 123, tzinfo=UTC)
    assert rules.ballot_time(moment, anonymous=True) == datetime(2026, 12, 1, tzinfo=UTC)
    assert rules.ballot_time(moment, anonymous=False) == moment


# --- well-formed votes -------------------------------------------------------------------------

VOTES = [
    # (story, kind, has_motions, has_questions, anonymous, allow_change, opens_at, problem)
    ("a vote with motions", "vote", True, False, False, True, None, None),
    ("a survey with questions, anonymous", "survey", False, True, True, False, None, None),
    ("a vote without motions", "vote", False, False, False, False, None, "投票至少需要一个议题"),
    ("a vote with questions", "vote", True, True, False, False, None, "投票不能包含问卷题目"),
    ("an anonymous vote", "vote", True, False, True, False, None, "表决不能匿名，须记录每户的投票"),
    ("a survey without questions", "survey", False, False, False, False, None, "问卷至少需要一个题目"),
    ("a survey with motions", "survey", True, True, False, False, None, "问卷不能包含表决议题"),
    ("an anonymous survey open to changes", "survey", False, True, True, True, None, "匿名问卷不能修改答卷"),
    ("closing when it opens", "vote", True, False, False, False, LATER + timedelta(days=6), "截止时间必须晚于开始时间"),
    ("closing after it opens", "vote", True, False, False, False, NOW, None),
]


@pytest.mark.parametrize(
    "story,kind,motions,questions,anonymous,allow_change,opens_at,problem", VOTES, ids=[v[0] for v in VOTES]
)
def test_vote_problem(story, kind, motions, questions, anonymous, allow_change, opens_at, problem) -> None:
    closes_at = NOW + timedelta(days=7)
    got = rules.vote_problem(
        kind,
        motions,
        questions,
        anonymous=anonymous,
        allow_change=allow_change,
        opens_at=opens_at,
        closes_at=closes_at,
    )
    assert got == problem


# --- well-formed ballots -----------------------------------------------------------------------

MOTION = ItemSpec("m1", "motion", rules.MOTION_OPTIONS, 1)
MOTION_2 = ItemSpec("m2", "motion", rules.MOTION_OPTIONS, 1)
SINGLE = ItemSpec("q1", "single", ("1", "2"), 1)
MULTIPLE = ItemSpec("q2", "multiple", ("1", "2", "3"), 2)
TEXT = ItemSpec("q3", "text")
SURVEY = [SINGLE, MULTIPLE, TEXT]
LONG = "字" * (rules.TEXT_ANSWER_MAX + 1)

BALLOTS = [
    # (story, items, answers, problem class, details)
    ("every motion answered", [MOTION, MOTION_2], [Answer("m1", ("agree",)), Answer("m2", ("abstain",))], None, None),
    ("a survey with the free text left out", SURVEY, [Answer("q1", ("1",)), Answer("q2", ("1", "3"))], None, None),
    ("a survey with free text", SURVEY, [Answer("q1", ("2",)), Answer("q2", ("2",)), Answer("q3", text="好")], None, None),
    ("an unknown item", [MOTION], [Answer("nope", ("agree",))], errors.UnknownItem, {"item_id": "nope"}),
    ("an item answered twice", [MOTION], [Answer("m1", ("agree",)), Answer("m1", ("agree",))], errors.DuplicateAnswer, {"item_id": "m1"}),
    ("options on a free-text question", SURVEY, [Answer("q3", ("1",))], errors.TextExpected, {"item_id": "q3"}),
    ("no text on a free-text question", SURVEY, [Answer("q3")], errors.TextExpected, {"item_id": "q3"}),
    ("a text too long", SURVEY, [Answer("q3", text=LONG)], errors.TextTooLong, {"item_id": "q3"}),
    ("text on a motion", [MOTION], [Answer("m1", text="同意")], errors.OptionExpected, {"item_id": "m1"}),
    ("an unknown option", [MOTION], [Answer("m1", ("yes", "agree"))], errors.UnknownOption, {"item_id": "m1", "option_ids": ["yes"]}),
    ("an option twice", SURVEY, [Answer("q2", ("1", "1"))], errors.DuplicateOption, {"item_id": "q2"}),
    ("no option chosen", [MOTION], [Answer("m1")], errors.MissingChoice, {"item_id": "m1"}),
    ("two options on a motion", [MOTION], [Answer("m1", ("agree", "disagree"))], errors.SingleChoice, {"item_id": "m1"}),
    ("two options on a single choice", SURVEY, [Answer("q1", ("1", "2"))], errors.SingleChoice, {"item_id": "q1"}),
    ("above the maximum", SURVEY, [Answer("q1", ("1",)), Answer("q2", ("1", "2", "3"))], errors.TooManyChoices, {"item_id": "q2", "max_choices": 2}),
    ("a motion left out", [MOTION, MOTION_2], [Answer("m1", ("agree",))], errors.MissingAnswer, {"item_ids": ["m2"]}),
    ("a choice question left out", SURVEY, [Answer("q2", ("1",))], errors.MissingAnswer, {"item_ids": ["q1"]}),
]


@pytest.mark.parametrize("story,items,answers,problem,details", BALLOTS, ids=[b[0] for b in BALLOTS])
def test_check_ballot(story, items, answers, problem, details) -> None:
    got = rules.check_ballot(items, answers)
    if problem is None:
        assert got is None
        return
    assert type(got) is problem
    assert got.details == details
    assert got.status_code == 422 and got.code == problem.code


def test_too_many_choices_names_the_maximum() -> None:
    got = rules.check_ballot(SURVEY, [Answer("q1", ("1",)), Answer("q2", ("1", "2", "3"))])
    assert got is not None and got.message == "该题目最多选择 2 项"
