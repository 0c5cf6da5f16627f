"""The JSON log line: secrets, login codes, tokens, session keys and phone numbers never reach
it, whatever the form they come in; the rest of the line stays readable."""

from __future__ import annotations

import io
import json
import logging
import sys
import time

import pytest

from services.common.logs import JsonFormatter, configure_logging, redact, redact_value

SECRET_CASES = [
    # httpx's INFO line for code2Session, as it was written before.
    (
        'HTTP Request: GET https://api.weixin.qq.com/sns/jscode2session?appid=wx123&secret=0123abcdSECRET'
        '&js_code=081LOGINCODE&grant_type=authorization_code "HTTP/1.1 200 OK"',
        ["0123abcdSECRET", "081LOGINCODE"],
    ),
    ("POST /wxa/business/getuserphonenumber?access_token=AT-WECHAT-123", ["AT-WECHAT-123"]),
    ("/cgi-bin/message/subscribe/send?ACCESS_TOKEN=AbC_-9&x=1", ["AbC_-9"]),
    ('{"grant_type": "client_credential", "appid": "wx1", "secret": "S3CRET"}', ["S3CRET"]),
    ("{'code': 'PHONECODE1', 'force_refresh': False}", ["PHONECODE1"]),
    ('{"session_key":"SESSIONKEY==","openid":"o-1"}', ["SESSIONKEY=="]),
    ('{"refresh_token": "rt_abcdefghijklmnopqrstuvwxyz012345"}', ["rt_abcdefghijklmnopqrstuvwxyz012345"]),
    ("rotated rt_abcdefghijklmnopqrstuvwxyz012345 for you", ["rt_abcdefghijklmnopqrstuvwxyz012345"]),
    ('{"username": "wang", "password": "p@ss word"}', ["p@ss word"]),
    ("WECHAT_SECRET=envsecret IDENTITY_WEBHOOK_SECRET=whsec_abc+/=", ["envsecret", "whsec_abc"]),
    ("Authorization: Bearer eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl", ["eyJhbGciOi", "c2lnbmF0dXJl"]),
    ("token eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.sig-nat_ure", ["eyJhbGciOiJFZERTQSJ9"]),
    ('{"encryptedData": "ENC==", "iv": "x"}', ["ENC=="]),
    ("login_code = 'c0de' and phone_code=\"p0\"", ["c0de", "p0"]),
]


@pytest.mark.parametrize(("text", "secrets"), SECRET_CASES)
def test_secrets_codes_and_tokens_are_redacted(text: str, secrets: list[str]) -> None:
    out = redact(text)
    for secret in secrets:
        assert secret not in out, out


PHONE_FORMS = [
    "13812341234",
    "+8613812341234",
    "+86 13812341234",
    "+86-138-1234-1234",
    "86-13812341234",
    "8613812341234",
    "008613812341234",
    "(+86) 138 1234 1234",
    "138 1234 1234",
    "138-1234-1234",
    "%2B8613812341234",
]


@pytest.mark.parametrize("form", PHONE_FORMS)
@pytest.mark.parametrize(
    "context", ["{}", "phone={}&x=1", '{{"contact": "{}"}}', "手机{}已验证", "/users/{}/x"]
)
def test_a_phone_number_in_any_form_is_redacted(form: str, context: str) -> None:
    out = redact(context.format(form))
    assert "1234" not in out.replace("12341234", ""), out
    digits = "".join(ch for ch in out if ch.isdigit())
    assert "13812341234" not in digits, out


@pytest.mark.parametrize(
    "text",
    [
        "wechat call failed errcode 45011 attempt 2",
        "request id 9f1c0e2d4b6a48e1a3c5d7e9f0b1c2d3",
        "order 202611300001 amount 1380",
        "masked 138****1234",
        "took 13.5 ms at 2026-11-30T09:09:01.123Z",
        "status_code=200 path=/communities/abc/roster",
        "openid o-13812341234x",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_extra_fields_are_redacted_by_name_and_by_content() -> None:
    extra = {
        "path": "/me/phone",
        "params": {"appid": "wx1", "secret": "S", "nested": ["13812341234", {"code": "C"}]},
        "attempt": 2,
        "ok": True,
        "ratio": 0.5,
        "nothing": None,
        "obj": ValueError("bad js_code=LEAK"),
    }
    assert redact_value(extra) == {
        "path": "/me/phone",
        "params": {"appid": "wx1", "secret": "[redacted]", "nested": ["[phone]", {"code": "[redacted]"}]},
        "attempt": 2,
        "ok": True,
        "ratio": 0.5,
        "nothing": None,
        "obj": "bad js_code=[redacted]",
    }



def test_the_formatter_redacts_message_arguments_extras_and_tracebacks() -> None:
    try:
        raise RuntimeError("GET /sns/jscode2session?secret=TOPSECRET&js_code=CODE1")
    except RuntimeError:
        exc_info = sys.exc_info()
    logger = logging.getLogger("test.logs")
    record = logger.makeRecord(
        "test.logs", logging.ERROR, __file__, 1,
        'HTTP Request: %s %s "%s"', ("GET", "http://wx/sns/jscode2session?secret=TOPSECRET&js_code=CODE1", "200"),
        exc_info, extra={"phone": "13812341234", "wechat_secret": "TOPSECRET", "note": "call +86 138 1234 1234"},
    )
    line = JsonFormatter("identity").format(record)
    entry = json.loads(line)  # still one JSON object
    assert "TOPSECRET" not in line and "CODE1" not in line and "1234 1234" not in line
    assert "13812341234" not in line
    assert entry["msg"].startswith("HTTP Request: GET http://wx/sns/jscode2session?secret=[redacted]")
    assert entry["phone"] == "[redacted]" and entry["note"] == "call [phone]"
    assert "RuntimeError" in entry["exc"]


def test_redaction_is_linear_on_hostile_input() -> None:
    hostile = ['code="' * 20_000, "secret=" + "a" * 100_000, "1 " * 50_000, "a_" * 50_000 + "x", "+86" * 30_000]
    for text in hostile:
        started = time.perf_counter()
        redact(text)
        assert time.perf_counter() - started < 0.5, text[:20]


def test_client_libraries_that_log_urls_are_quiet_whatever_the_level() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("identity", "DEBUG")
        for name in ("httpx", "httpcore"):
            assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING
        # And what does reach the handler comes out redacted.
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("identity.wechat").warning("retry js_code=abc", extra={"token": "t"})
        line = json.loads(stream.getvalue())
        assert line["msg"] == "retry js_code=[redacted]" and line["token"] == "[redacted]"
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
