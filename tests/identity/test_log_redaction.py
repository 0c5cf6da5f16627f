"""No secret, login code, token, session key or phone number reaches identity's log: the log
lines of real logins (WeChat through the stand-in, staff, refresh, getPhoneNumber, a binding
with a phone, a WeChat hiccup) are captured as written and searched for every one of them."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from services.common.logs import QUIET_LOGGERS
from tests.identity.factories import identity, new_community, room_id, roster, upload
from tests.identity.wechat_fake import BASE
from tests.support import auth, manager_token

APP_SECRET = "appsecret-7f3a9c1e5b"
ADMIN_PASSWORD = "admin-pass-Q8w2"
PHONE = "13812341234"
PHONE_FORMS = [PHONE, "+8613812341234", "+86 138 1234 1234", "86-13812341234", "138 1234 1234", "138-1234-1234"]


@contextmanager
def captured_log(client_libraries_level: int | None) -> Iterator[io.StringIO]:
    """What the service's own log handler (configure_logging's) writes, into a buffer."""
    root = logging.getLogger()
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    saved = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    if client_libraries_level is not None:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(client_libraries_level)
    try:
        yield stream
    finally:
        handler.setStream(previous)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def leaks(log: str, secrets: list[str]) -> list[str]:
    found = [s for s in secrets if s and s in log]
    # A phone with its separators removed, whatever form it was written in.
    if PHONE in re.sub(r"[\s+()\-]", "", log):
        found.append("phone " + PHONE)
    return found


@pytest.mark.parametrize(
    "client_libraries_level",
    [None, logging.DEBUG],
    ids=["as-configured", "http-client-loggers-turned-up-to-debug"],
)
async def test_a_real_login_leaves_no_secret_code_token_or_phone_in_the_log(database_urls, client_libraries_level):
    settings = {
        "wechat_secret": APP_SECRET,
        "platform_admin_username": "root",
        "platform_admin_password": ADMIN_PASSWORD,
        "log_level": "DEBUG",
    }
    async with identity(database_urls, **settings) as (_app, c, fake):
        cid = await new_community(c)
        rows = [["1", "", "101", "89.50", "delivered", "李明", "+86 138-1234-1234", ""]]
        assert (await upload(c, cid, roster(rows), manager_token(cid))).status_code == 200
        secrets = [APP_SECRET, ADMIN_PASSWORD, *PHONE_FORMS]
        with captured_log(client_libraries_level) as stream:
            # WeChat login, with one transient WeChat failure (retried and logged) on the way.
            await fake.fail("/sns/jscode2session", 1, http_status=502)
            code = await fake.login_code("o-logs")
            login = await c.post("/auth/wechat-login", json={"code": code})
            assert login.status_code == 200, login.text
            reused = await c.post("/auth/wechat-login", json={"code": code})
            assert reused.status_code == 400
            tokens = login.json()
            refreshed = (await c.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).json()
            secrets += [code, *fake.session_keys, tokens["access_token"], tokens["refresh_token"],
                        refreshed["access_token"], refreshed["refresh_token"]]
            me = auth(refreshed["access_token"])

            # getPhoneNumber: a phone code, WeChat's access token in the query string.
            phone_code = await fake.phone_code(PHONE)
            r = await c.post("/me/phone", json={"code": phone_code}, headers=me)
            assert r.status_code == 200, r.text
            secrets.append(phone_code)

            # A binding with the phone typed in another form.
            rid = await room_id(c, cid, "1栋101", refreshed["access_token"])
            r = await c.post(
                "/me/bindings",
                json={"room_id": rid, "relation": "owner", "name": "李明", "phone": "+86 138 1234 1234"},
                headers=me,
            )
            assert r.status_code == 201, r.text
            assert (await c.get("/me", headers=me)).status_code == 200

            # Staff: a wrong password, then the right one.
            r = await c.post("/auth/staff-login", json={"username": "root", "password": ADMIN_PASSWORD + "x"})
            assert r.status_code == 401
            staff = await c.post("/auth/staff-login", json={"username": "root", "password": ADMIN_PASSWORD})
            assert staff.status_code == 200, staff.text
            secrets += [ADMIN_PASSWORD + "x", staff.json()["access_token"], staff.json()["refresh_token"]]

            # A body that fails validation still carries a code and a phone.
            r = await c.post("/me/phone", json={"code": ["NOT-A-STRING-CODE"], "phone": PHONE}, headers=me)
            assert r.status_code == 422
            secrets.append("NOT-A-STRING-CODE")
        log = stream.getvalue()

        # WeChat's own access token, as identity holds it (the stand-in hands out the live one).
        token = await fake.http.post(
            BASE + "/cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": "wx-standin-app", "secret": APP_SECRET},
        )
        secrets.append(token.json().get("access_token", ""))

    assert fake.session_keys, "the stand-in handed out a session key"
    # The capture saw the traffic: one access line per request, and the WeChat calls when the
    # HTTP client's loggers were turned up.
    assert '"path": "/auth/wechat-login"' in log and '"path": "/me/phone"' in log
    if client_libraries_level is not None:
        assert "HTTP Request: GET http://wechat.test/sns/jscode2session?" in log
        assert "HTTP Request: POST http://wechat.test/wxa/business/getuserphonenumber?" in log
    else:
        assert '"logger": "httpx"' not in log
    assert leaks(log, secrets) == []
