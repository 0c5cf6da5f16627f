"""What the console's forms send to the API: the request bodies built from form fields
(votes and surveys, notices with their audience), with nothing checked on the way — the
API's own validation answers, so its messages are the ones shown."""

from __future__ import annotations

from starlette.datastructures import FormData

from console.pages.notices import audience, notice_body
from console.pages.votes import vote_body


def test_a_vote_sends_its_motions_scope_and_beijing_times() -> None:
    form = FormData([
        ("kind", "vote"), ("title", "换电梯"), ("motion_title_0", "更换 1 栋电梯"), ("motion_matter_0", "major"),
        ("motion_title_1", ""), ("building_ids", "b1"), ("building_ids", "b2"),
        ("closes_at", "2030-01-01T10:00"), ("live_results", "1"),
    ])
    body = vote_body(form, "c1")
    assert body["kind"] == "vote" and body["motions"] == [{"title": "更换 1 栋电梯", "matter": "major"}]
    assert body["scope"] == {"building_ids": ["b1", "b2"]}
    assert body["closes_at"] == "2030-01-01T10:00:00+08:00" and "opens_at" not in body
    assert body["live_results"] is True and body["anonymous"] is False


def test_a_survey_sends_questions_with_one_option_per_line() -> None:
    form = FormData([
        ("kind", "survey"), ("title", "满意度"), ("motion_title_0", "ignored"),
        ("question_title_0", "保洁如何"), ("question_type_0", "single"), ("question_options_0", "好\n\n一般\n差 "),
        ("question_title_1", "建议"), ("question_type_1", "text"), ("question_options_1", "x"),
    ])
    body = vote_body(form, "c1")
    assert "motions" not in body and body["kind"] == "survey"
    assert body["questions"] == [
        {"title": "保洁如何", "type": "single", "options": ["好", "一般", "差"]},
        {"title": "建议", "type": "text", "options": []},
    ]
    assert "closes_at" not in body  # missing: the API says so, by the field


def test_a_missing_closing_time_is_left_for_the_api_to_refuse() -> None:
    assert "closes_at" not in vote_body(FormData([("title", "t")]), "c1")


def test_the_audience_picker_sends_units_as_building_and_unit() -> None:
    form = FormData([("audience_kind", "units"), ("units", "b1|1"), ("units", "b2|"), ("roles", "owner")])
    assert audience(form) == {
        "kind": "units", "units": [{"building_id": "b1", "unit": "1"}, {"building_id": "b2", "unit": None}],
        "roles": ["owner"],
    }
    assert audience(FormData([("audience_kind", "buildings"), ("building_ids", "b1")])) == {
        "kind": "buildings", "building_ids": ["b1"]}
    assert audience(FormData([])) == {"kind": "community"}


def test_a_notice_sends_its_category_pin_and_times() -> None:
    form = FormData([("title", "停水"), ("body", "明天"), ("category", "emergency"), ("pinned", "1"),
                     ("expires_at", "2030-01-02T08:00")])
    body = notice_body(form, "c1")
    assert body["category"] == "emergency" and body["pinned"] is True
    assert body["expires_at"] == "2030-01-02T08:00:00+08:00" and "publish_at" not in body
