"""修改密码 and 员工 password resets through the console, against the stand-in API: the API's
Chinese refusals land next to their field and change nothing; a change ends the console's
session (the API revoked its refresh token) and the new password logs in; a reset shows the
generated password on that answer only."""

from __future__ import annotations

import re
from contextlib import aclosing

from tests.console.fake_api import CID, PASSWORD, FakeApi
from tests.console.support import console_client, csrf_of, logged_in


async def test_a_wrong_current_password_is_shown_by_its_field_and_changes_nothing() -> None:
    api = FakeApi()
    client, _ = await logged_in(api)
    async with aclosing(client):
        token = csrf_of((await client.get("/console/password")).text)
        answer = await client.post("/console/password", data={
            "csrf_token": token, "current_password": "nope", "new_password": "new-pass-123",
            "new_password_again": "new-pass-123"})
        assert answer.status_code == 422
        assert re.search(r'id="e-current_password"[^>]*>当前密码不正确<', answer.text)
        short = await client.post("/console/password", data={
            "csrf_token": token, "current_password": PASSWORD, "new_password": "short",
            "new_password_again": "short"})
        assert re.search(r'id="e-new_password"[^>]*>至少 8 个字符<', short.text)
        assert api.password == PASSWORD


async def test_mismatched_new_passwords_never_reach_the_api() -> None:
    api = FakeApi()
    client, _ = await logged_in(api)
    async with aclosing(client):
        token = csrf_of((await client.get("/console/password")).text)
        answer = await client.post("/console/password", data={
            "csrf_token": token, "current_password": PASSWORD, "new_password": "new-pass-123",
            "new_password_again": "new-pass-124"})
        assert answer.status_code == 422 and "两次输入的新密码不一致" in answer.text
        assert ("POST", "/me/password") not in api.calls


async def test_a_changed_password_ends_the_session_and_the_new_one_logs_in() -> None:
    api = FakeApi()
    client, _ = await logged_in(api)
    async with aclosing(client):
        token = csrf_of((await client.get("/console/password")).text)
        answer = await client.post("/console/password", data={
            "csrf_token": token, "current_password": PASSWORD, "new_password": " new pass 123",
            "new_password_again": " new pass 123"})
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login?changed=1"
        assert api.password == " new pass 123"  # as typed, spaces kept
        assert (await client.get("/console/staff")).headers["location"].endswith("/console/login")
        login = await client.get("/console/login?changed=1")
        assert "密码已修改，请用新密码登录" in login.text
        answer = await client.post("/console/login", data={
            "username": "zhang", "password": " new pass 123", "csrf_token": csrf_of(login.text)})
        assert answer.status_code == 303 and answer.headers["location"] == "/console/"


async def test_a_reset_shows_the_generated_password_once_and_a_refusal_in_chinese() -> None:
    api = FakeApi()
    client, _ = await logged_in(api)
    async with aclosing(client):
        token = csrf_of((await client.get("/console/staff")).text)
        answer = await client.post("/console/staff/s-2/password-reset", data={"csrf_token": token, "name": "王师傅"})
        assert answer.status_code == 200 and "generated-pass-xyz" in answer.text and "王师傅" in answer.text
        assert "generated-pass-xyz" not in (await client.get("/console/staff")).text
        refused = await client.post("/console/staff/s-3/password-reset", data={"csrf_token": token, "name": "赵"})
        assert refused.status_code == 403 and "无法重置其密码" in refused.text
        assert ("POST", f"/communities/{CID}/staff/s-3/password-reset") in api.calls
        forged = await client.post("/console/staff/s-2/password-reset", data={"csrf_token": "x", "name": "王"})
        assert forged.status_code == 403 and api.calls.count(("POST", f"/communities/{CID}/staff/s-2/password-reset")) == 1


async def test_the_login_page_without_the_flag_says_nothing_about_a_change() -> None:
    async with aclosing(await console_client(FakeApi())) as client:
        assert "密码已修改" not in (await client.get("/console/login")).text
