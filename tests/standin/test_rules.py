"""WeChat's subscribe-message value limits and the stand-in's content verdicts, without HTTP."""

from __future__ import annotations

import pytest

from wechat_standin.rules import invalid_template_data, sec_verdict


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("thing1", "一" * 20, True),
        ("thing1", "一" * 21, False),
        ("thing12", "Kitchen tap, 3F", True),
        ("number2", "3.14", True),
        ("number2", 42, True),
        ("number2", "1" * 33, False),
        ("number2", "12a", False),
        ("letter3", "abcXYZ", True),
        ("letter3", "abc1", False),
        ("symbol4", "%$#", True),
        ("symbol4", "%$#@!?", False),
        ("character_string5", "WX-2026-0001", True),
        ("character_string5", "A" * 33, False),
        ("character_string5", "单号1", False),
        ("time6", "15:01", True),
        ("time6", "2026年11月25日 15:01", True),
        ("time6", "下午三点", False),
        ("date7", "2026年11月25日", True),
        ("date7", "2026-11-25 15:01", True),
        ("date7", "明天", False),
        ("amount8", "¥214.00", True),
        ("amount8", "100元", True),
        ("amount8", "¥12345678901", False),
        ("phone_number9", "+86-0766-66888866", True),
        ("phone_number9", "+86-0766-668888661", False),
        ("car_number10", "粤A8Z888挂", True),
        ("car_number10", "粤A8Z8888挂", False),
        ("name11", "王" * 10, True),
        ("name11", "王" * 11, False),
        ("name11", "Alexandra Smithsonia", True),
        ("name11", "Alexandra Smithsonian", False),
        ("phrase12", "处理中", True),
        ("phrase12", "正在处理中了", False),
        ("phrase12", "ok", False),
        ("enum13", "anything", True),
        ("site01", "广州市新港中路397号", True),
        ("thing1", True, False),
        ("thing1", None, False),
    ],
)
def test_template_values_follow_wechats_limits(key: str, value: object, ok: bool) -> None:
    problem = invalid_template_data({key: {"value": value}})
    assert (problem is None) is ok, problem


def test_template_data_must_be_a_non_empty_object() -> None:
    assert invalid_template_data([]) == "argument invalid! data is empty"
    assert invalid_template_data(None) == "argument invalid! data is empty"


@pytest.mark.parametrize(
    ("text", "suggest"),
    [("正常内容", "pass"), ("含 [Review] 标记", "review"), ("[review] 和 [RISKY]", "risky")],
)
def test_sec_verdict_is_decided_by_markers(text: str, suggest: str) -> None:
    assert sec_verdict([text], ["[risky]"], ["[review]"]).suggest == suggest


def test_empty_marker_never_matches() -> None:
    assert sec_verdict(["abc"], [""], []).suggest == "pass"
