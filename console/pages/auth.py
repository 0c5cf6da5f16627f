"""登录 / 退出 / 切换小区: staff-login through the API, the session it opens, and its end
(the refresh token revoked)."""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from console.api import ApiError, LoggedOut
from console.security import tokens_match
from console.sessions import COOKIE, COOKIE_PATH, LOGIN_CSRF_COOKIE, Session, StaffRoleView
from console.web import (
    BASE,
    CheckedForm,
    CurrentSession,
    client_ip,
    console_of,
    field,
    form_errors,
    redirect,
    render,
)

router = APIRouter()


def _secure(request: Request) -> bool:
    mode = console_of(request).settings.secure_cookies
    if mode in ("always", "never"):
        return mode == "always"
    return request.url.scheme == "https"


def _login_page(
    request: Request, errors: dict[str, str], username: str = "", status: int = 200, changed: bool = False
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request, "login.html", None, status, login_csrf=token, errors=errors, username=username, changed=changed
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path=COOKIE_PATH
    )
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    if console_of(request).store.get(request.cookies.get(COOKIE)) is not None:
        return redirect(request, BASE + "/")
    return _login_page(request, {}, changed=request.query_params.get("changed") == "1")


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        return _login_page(request, {"_": "页面已过期，请重新登录"}, username, 403)
    errors: dict[str, str] = {}
    if not username.strip():
        errors["username"] = "请输入用户名"
    if not password:
        errors["password"] = "请输入密码"
    if errors:
        return _login_page(request, errors, username, 422)
    console = console_of(request)
    ip = client_ip(request)
    try:
        pair = await console.api.staff_login(username.strip(), password, ip)
    except ApiError as exc:
        return _login_page(request, {"password" if exc.status == 401 else "_": exc.message}, username, exc.status)
    session = console.store.create(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        access_expires_at=time.monotonic() + pair.expires_in,
        account_id=str(pair.account["id"]),
        name=str(pair.account.get("name") or username),
        platform_admin=bool(pair.account.get("platform_admin")),
    )
    try:
        await load_roles(request, session)
    except (ApiError, LoggedOut):
        console.store.drop(session.id)
        return _login_page(request, {"_": "登录失败，请稍后再试"}, username, 503)
    if not session.platform_admin and not session.roles:
        await console.api.revoke(session, ip)
        console.store.drop(session.id)
        return _login_page(request, {"_": "该账号不是任何小区的员工，不能登录管理后台"}, username, 403)
    response = redirect(request, BASE + "/")
    response.set_cookie(COOKIE, session.id, httponly=True, samesite="strict", secure=_secure(request), path=COOKIE_PATH)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH)
    return response


async def load_roles(request: Request, session: Session) -> None:
    """The communities the account works in (from /me), with their names; the platform admin
    sees every community."""
    api = console_of(request).api
    ip = client_ip(request)
    me = await api.get(session, "/me", ip)
    session.name = str(me.get("display_name") or session.name)
    roles = [
        StaffRoleView(str(r["community_id"]), str(r["role"]), r.get("department"))
        for r in me["roles"]["staff"]
    ]
    if session.platform_admin:
        page = await api.get(session, "/communities", ip, params={"limit": 100})
        known = {r.community_id for r in roles}
        roles += [StaffRoleView(str(c["id"]), "manager", None) for c in page["items"] if str(c["id"]) not in known]
        names = {str(c["id"]): str(c["name"]) for c in page["items"]}
    else:
        names = {}
    for role in roles:
        if role.community_id not in names:
            try:
                names[role.community_id] = str((await api.get(session, f"/communities/{role.community_id}", ip))["name"])
            except ApiError:
                names[role.community_id] = role.community_id
        role.community_name = names[role.community_id]
    session.roles = roles
    if session.community_id not in {r.community_id for r in roles}:
        session.community_id = roles[0].community_id if roles else None


@router.post("/logout")
async def logout(request: Request, session: CurrentSession, form: CheckedForm) -> Response:
    console = console_of(request)
    try:
        await console.api.revoke(session, client_ip(request))
    finally:
        console.store.drop(session.id)
    response = redirect(request, BASE + "/login")
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


@router.post("/community")
async def switch_community(request: Request, session: CurrentSession, form: CheckedForm) -> Response:
    wanted = field(form, "community_id")
    if any(r.community_id == wanted for r in session.roles):
        session.community_id = wanted
    return redirect(request, BASE + "/")


@router.get("/password")
async def password(request: Request, session: CurrentSession) -> Response:
    return render(request, "password.html", session, errors={})


@router.post("/password")
async def change_password(request: Request, session: CurrentSession, form: CheckedForm) -> Response:
    """The person's own change (POST /me/password). The API ends every refresh token of the
    account, this session's too, so the console ends it and asks for the new password."""
    # Passwords as typed: `field` would strip their spaces.
    current, new, again = (
        str(form.get(name) or "") for name in ("current_password", "new_password", "new_password_again")
    )
    errors: dict[str, str] = {}
    if not current:
        errors["current_password"] = "请输入当前密码"
    if new != again:
        errors["new_password_again"] = "两次输入的新密码不一致"
    if not errors:
        console = console_of(request)
        try:
            await console.api.post(
                session, "/me/password", client_ip(request), json={"current_password": current, "new_password": new}
            )
        except ApiError as exc:
            errors = form_errors(exc)
            if exc.code == "wrong_password":
                errors = {"current_password": exc.message}
        else:
            console.store.drop(session.id)
            response = redirect(request, BASE + "/login?changed=1")
            response.delete_cookie(COOKIE, path=COOKIE_PATH)
            return response
    return render(request, "password.html", session, 422, errors=errors)
