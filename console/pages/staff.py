"""员工 (and, for the platform admin, 小区): add and remove staff with their departments;
create communities."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.api import ApiError
from console.pages.auth import load_roles
from console.web import (
    BASE,
    AdminSession,
    CheckedForm,
    ManagerSession,
    add_flash,
    calls,
    field,
    form_errors,
    need_community,
    redirect,
    render,
)

router = APIRouter()

STAFF_FIELDS = ("username", "name", "phone", "role", "department", "password")


async def _staff_page(
    request: Request, session: ManagerSession, errors: dict[str, str], values: dict[str, str],
    status: int = 200, created: dict[str, Any] | None = None, reset: dict[str, str] | None = None,
) -> Response:
    cid = need_community(session)
    page = await calls(request, session).get(f"/communities/{cid}/staff", limit=100)
    members: list[dict[str, Any]] = page["items"]
    departments = sorted({m["department"] for m in members if m.get("department")})
    return render(
        request, "staff.html", session, status, nav="staff", members=members, departments=departments,
        errors=errors, values=values, created=created, reset=reset,
    )


@router.get("/staff")
async def staff(request: Request, session: ManagerSession) -> Response:
    return await _staff_page(request, session, {}, {"role": "crew", "department": "repair"})


@router.post("/staff")
async def add_staff(request: Request, session: ManagerSession, form: CheckedForm) -> Response:
    cid = need_community(session)
    values = {name: field(form, name) for name in STAFF_FIELDS}
    body: dict[str, Any] = {k: v for k, v in values.items() if k != "password" and v}
    body["department"] = values["department"] or None
    if values["password"]:
        body["password"] = values["password"]
    try:
        created = await calls(request, session).post(f"/communities/{cid}/staff", json=body)
    except ApiError as exc:
        return await _staff_page(request, session, form_errors(exc), {**values, "password": ""}, 422)
    values = {"role": "crew", "department": "repair"}
    return await _staff_page(request, session, {}, values, 201, created=created)


@router.post("/staff/{staff_id}/remove")
async def remove_staff(request: Request, session: ManagerSession, staff_id: str, form: CheckedForm) -> Response:
    cid = need_community(session)
    await calls(request, session).send("DELETE", f"/communities/{cid}/staff/{staff_id}")
    add_flash(session, "员工已移除")
    return redirect(request, BASE + "/staff")


@router.post("/staff/{staff_id}/password-reset")
async def reset_password(request: Request, session: ManagerSession, staff_id: str, form: CheckedForm) -> Response:
    """A generated password from the API, rendered on this answer only (never kept in the session)."""
    cid = need_community(session)
    values, name = {"role": "crew", "department": "repair"}, field(form, "name")
    try:
        answer = await calls(request, session).post(f"/communities/{cid}/staff/{staff_id}/password-reset")
    except ApiError as exc:
        return await _staff_page(request, session, {}, values, exc.status, reset={"name": name, "error": exc.message})
    return await _staff_page(request, session, {}, values, reset={"name": name, "password": answer["password"]})


@router.get("/communities")
async def communities(request: Request, session: AdminSession) -> Response:
    return render(request, "communities.html", session, nav="communities", errors={}, name="")


@router.post("/communities")
async def create_community(request: Request, session: AdminSession, form: CheckedForm) -> Response:
    name = field(form, "name")
    try:
        created = await calls(request, session).post("/communities", json={"name": name})
    except ApiError as exc:
        return render(request, "communities.html", session, 422, nav="communities", errors=form_errors(exc), name=name)
    await load_roles(request, session)
    session.community_id = created["id"]
    add_flash(session, f"已创建小区「{created['name']}」，现在可以导入名册")
    return redirect(request, BASE + "/rooms")



