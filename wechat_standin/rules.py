"""WeChat's rules the stand-in imitates, as pure functions: subscribe-message value limits,
msg_sec_check verdicts, and the errmsg WeChat gives with each errcode."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# errcode -> errmsg, as WeChat words them (the stand-in leaves out WeChat's trailing "rid: ...").
ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40029: "invalid code",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    42001: "access_token expired",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit mustslower retry next minute",
    47001: "data format error",
    47003: "argument invalid!",
    87014: "risky content",
}


def errmsg(errcode: int) -> str:
    return ERRMSG.get(errcode, "stand-in fault")


# --- subscribe-message values -------------------------------------------------------------

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_DATE = re.compile(r"\d{4}\s*[年\-/.]\s*\d{1,2}\s*[月\-/.]\s*\d{1,2}")
_TIME = re.compile(r"\d{1,2}:\d{2}")


def _matches(pattern: str, max_len: int) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda v: len(v) <= max_len and compiled.fullmatch(v) is not None


def _name_ok(value: str) -> bool:
    # 10 Chinese characters, or 20 letters/symbols; mixed counts as a Chinese name.
    return len(value) <= (20 if value.isascii() else 10)


# Parameter kind (the key without its trailing number: thing1 -> thing) -> is this value valid?
# Limits from WeChat's "订阅消息参数值内容限制说明".
VALUE_RULES: dict[str, Callable[[str], bool]] = {
    "thing": lambda v: len(v) <= 20,
    "number": _matches(r"\d+(\.\d+)?", 32),
    "letter": _matches(r"[A-Za-z]+", 32),
    "symbol": _matches(r"[^\w\s]+", 5),
    "character_string": _matches(r"[\x20-\x7e]+", 32),
    "time": lambda v: len(v) <= 40 and _TIME.search(v) is not None,
    "date": lambda v: len(v) <= 40 and _DATE.search(v) is not None,
    "amount": _matches(r"[¥￥$€£]?\d{1,10}(\.\d+)?元?", 16),
    "phone_number": _matches(r"[\d+\-() ]+", 17),
    "car_number": _matches(rf"[{_CJK}]?[A-Za-z0-9]+[{_CJK}]?", 8),
    "name": _name_ok,
    "phrase": _matches(rf"[{_CJK}]+", 5),
}
_KEY = re.compile(r"([a-z_]+?)\d+")


def invalid_template_data(data: Any) -> str | None:
    """Why `data` of a subscribe message is refused (the 47003 errmsg), or None when it is fine.

    `data` must look like {"thing1": {"value": "..."}, ...}. Kinds the stand-in does not know
    (enum, or keys without a kind) only have to be non-empty.
    """
    if not isinstance(data, Mapping) or not data:
        return "argument invalid! data is empty"
    for key, entry in data.items():
        raw = entry.get("value") if isinstance(entry, Mapping) else None
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            return f"argument invalid! data.{key}.value is emtpy"  # sic: WeChat's spelling
        value = str(raw)
        if not value.strip():
            return f"argument invalid! data.{key}.value is emtpy"
        match = _KEY.fullmatch(key)
        rule = VALUE_RULES.get(match.group(1)) if match else None
        if rule is not None and not rule(value):
            return f"argument invalid! data.{key}.value invalid"
    return None


# --- msg_sec_check ------------------------------------------------------------------------

LABEL_NORMAL = 100
LABEL_ILLEGAL = 20006  # 违法犯罪
LABEL_OTHER = 21000  # 其他


@dataclass(frozen=True)
class SecVerdict:
    suggest: str  # pass | review | risky
    label: int
    keyword: str | None = None


def sec_verdict(
    texts: Iterable[str], risky_markers: Iterable[str], review_markers: Iterable[str]
) -> SecVerdict:
    """The stand-in's deterministic content check: a risky marker anywhere makes the text
    `risky`, else a review marker makes it `review`, else it passes."""
    folded = "\n".join(texts).casefold()
    for suggest, label, markers in (
        ("risky", LABEL_ILLEGAL, risky_markers),
        ("review", LABEL_OTHER, review_markers),
    ):
        for marker in markers:
            if marker and marker.casefold() in folded:
                return SecVerdict(suggest, label, marker)
    return SecVerdict("pass", LABEL_NORMAL)


def sec_check_body(verdict: SecVerdict, trace_id: str) -> dict[str, Any]:
    """msg_sec_check v2's answer for a verdict, shaped like WeChat's."""
    keyword_detail: dict[str, Any] = {"strategy": "keyword", "errcode": 0}
    if verdict.keyword is not None:
        keyword_detail |= {
            "suggest": verdict.suggest,
            "label": verdict.label,
            "level": 90 if verdict.suggest == "risky" else 50,
            "keyword": verdict.keyword,
        }
    return {
        "errcode": 0,
        "errmsg": "ok",
        "result": {"suggest": verdict.suggest, "label": verdict.label},
        "detail": [
            {
                "strategy": "content_model",
                "errcode": 0,
                "suggest": verdict.suggest,
                "label": verdict.label,
                "prob": 90,
            },
            keyword_detail,
        ],
        "trace_id": trace_id,
    }
