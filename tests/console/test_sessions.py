"""The console's sessions and defences, in process against a stand-in API: the login opens a
server-side session behind an HttpOnly SameSite=Strict cookie (Secure over https), every
form needs the session's CSRF token, pages carry a strict CSP, API errors land next to their
field, an expired access token is renewed once, and logout kills the refresh-token family."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from console.api import ApiError
from console.pages.votes import local_to_iso
from tests.console.fake_api import CID, PASSWORD, FakeApi
from tests.console.support import console_client, csrf_of, logged_in


@pytest.fixture
async def api() -> AsyncIterator[FakeApi]:
    yield FakeApi()


async def test_login_opens_a_server_side_session_behind_a_strict_httponly_cookie(api: FakeApi) -> None:
    client, answer = await logged_in(api)
    async with aclosing(client):
        assert answer.status_code == 303 and answer.headers["location"] == "/console/"
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("console_session="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
        assert "Secure" not in cookie
        # The cookie holds a random id, never a token.
        assert not any(token in cookie for token in [*api.access, *api.refresh])
        page = await client.get("/console/staff")
        assert page.status_code == 200 and "阳光花园" in page.text
        assert not any(token in page.text for token in [*api.access, *api.refresh])
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert page.headers["cache-control"] == "no-store"
        assert "<script>" not in page.text and " style=" not in page.text


async def test_over_https_the_cookie_is_secure(api: FakeApi) -> None:
    client, answer = await logged_in(api, "https")
    async with aclosing(client):
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("console_session="))
        assert "Secure" in cookie


async def test_a_wrong_password_shows_the_apis_message_by_the_field_and_opens_nothing(api: FakeApi) -> None:
    async with aclosing(await console_client(api)) as client:
        form = await client.get("/console/login")
        answer = await client.post("/console/login", data={
            "username": "zhang", "password": "nope", "csrf_token": csrf_of(form.text)})
        assert answer.status_code == 401
        assert re.search(r'id="e-password"[^>]*>用户名或密码错误<', answer.text)
        assert "console_session" not in answer.headers.get("set-cookie", "")


async def test_a_login_form_without_its_csrf_token_never_reaches_the_api(api: FakeApi) -> None:
    async with aclosing(await console_client(api)) as client:
        await client.get("/console/login")
        answer = await client.post("/console/login", data={"username": "zhang", "password": PASSWORD, "csrf_token": "x"})
        assert answer.status_code == 403
        assert ("POST", "/auth/staff-login") not in api.calls


async def test_a_form_without_the_sessions_csrf_token_is_refused_and_changes_nothing(api: FakeApi) -> None:
    client, _ = await logged_in(api)
    async with aclosing(client):
        body = {"username": "li", "name": "李师傅", "phone": "13700000000", "role": "crew"}
        answer = await client.post("/console/staff", data=body)
        assert answer.status_code == 403 and "页面已过期" in answer.text
        answer = await client.post("/console/staff", data={**body, "csrf_token": "forged"})
        assert answer.status_code == 403
        assert api.created_staff == [] and ("POST", f"/communities/{CID}/staff") not in api.calls
        # The htmx header carries the same token.
        token = csrf_of((await client.get("/console/staff")).text)
        answer = await client.post("/console/staff", data=body, headers={"X-CSRF-Token": token})
        assert answer.status_code == 201 and len(api.created_staff) == 1


async def test_an_api_validation_error_is_shown_next_to_its_field(api: FakeApi) -> None:
    client, _ = await logged_in(api)
    async with aclosing(client):
        token = csrf_of((await client.get("/console/staff")).text)
        answer = await client.post("/console/staff", data={
            "csrf_token": token, "username": "li", "name": "李师傅", "phone": "137", "role": "crew"})
        assert answer.status_code == 422
        assert re.search(r'id="e-phone"[^>]*data-field="phone">手机号须为 11 位数字<', answer.text)
        assert 'aria-describedby="e-phone"' in answer.text
        assert api.created_staff == []


async def test_an_expired_access_token_is_renewed_once_with_the_refresh_token(api: FakeApi) -> None:
    client, _ = await logged_in(api)
    async with aclosing(client):
        api.expired_access |= set(api.access)
        page = await client.get("/console/staff")
        assert page.status_code == 200
        assert api.calls.count(("POST", "/auth/refresh")) == 1


async def test_when_renewal_fails_the_session_ends_at_the_login_page(api: FakeApi) -> None:
    client, _ = await logged_in(api)
    async with aclosing(client):
        api.expired_access |= set(api.access)
        api.refresh = {t: (f, "revoked") for t, (f, _) in api.refresh.items()}
        page = await client.get("/console/staff")
        assert page.status_code == 303 and page.headers["location"] == "/console/login"
        again = await client.get("/console/staff")
        assert again.status_code == 303


async def test_logout_revokes_the_refresh_token_family_and_ends_the_session(api: FakeApi) -> None:
    client, _ = await logged_in(api)
    async with aclosing(client):
        family = next(iter(api.refresh.values()))[0]
        token = csrf_of((await client.get("/console/staff")).text)
        answer = await client.post("/console/logout", data={"csrf_token": token})
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
        assert not api.family_alive(family)
        assert (await client.get("/console/staff")).status_code == 303


async def test_a_crew_member_does_not_get_the_managers_pages(api: FakeApi) -> None:
    api.role = "crew"
    client, _ = await logged_in(api)
    async with aclosing(client):
        before = len(api.calls)
        page = await client.get("/console/staff")
        assert page.status_code == 403 and "没有权限" in page.text
        assert len(api.calls) == before
        assert "员工</a>" not in (await client.get("/console/password")).text


async def test_an_account_with_no_staff_role_cannot_log_in(api: FakeApi) -> None:
    api.role = None
    client, answer = await logged_in(api)
    async with aclosing(client):
        assert answer.status_code == 403 and "不是任何小区的员工" in answer.text
        assert not any(state == "live" for _, state in api.refresh.values())


def test_field_errors_are_keyed_by_the_top_level_field() -> None:
    error = ApiError(422, "validation_error", "请求参数不正确", [
        {"field": "motions.0.title", "message": "内容过短"}, {"field": "closes_at", "message": "缺少必填字段"},
        {"field": "", "message": "整体错误"}])
    assert error.field_errors() == {"motions": "内容过短", "closes_at": "缺少必填字段"}
    assert ApiError(409, "empty_electorate", "没有可投票的房间").field_errors() == {}


@pytest.mark.parametrize(
    ("typed", "sent"),
    [("2026-12-01T09:30", "2026-12-01T09:30:00+08:00"), ("", None), ("明天", "明天")],
)
def test_a_datetime_local_field_is_beijing_time(typed: str, sent: str | None) -> None:
    assert local_to_iso(typed) == sent
