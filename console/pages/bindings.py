"""认证审核: the bindings queue by status (pending first), approve, reject or revoke with a
reason, and identity's clean-up report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console import labels
from console.api import ApiError
from console.web import (
    BASE,
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


async def _queue(request: Request, session: ManagerSession, status: str, cursor: str = "") -> dict[str, Any]:
    cid = need_community(session)
    if status not in labels.BINDING_STATUSES:
        status = "pending"
    page = await calls(request, session).get(
        f"/communities/{cid}/bindings", status=status, limit=50, cursor=cursor or None
    )
    return {"status": status, "items": page["items"], "next_cursor": page.get("next_cursor")}


@router.get("/bindings")
async def bindings(request: Request, session: ManagerSession, status: str = "pending", cursor: str = "") -> Response:
    queue = await _queue(request, session, status, cursor)
    return render(request, "bindings.html", session, nav="bindings", errors={}, failed_id=None, **queue)


@router.post("/bindings/{binding_id}/{action}")
async def decide(
    request: Request, binding_id: str, action: str, session: ManagerSession, form: CheckedForm
) -> Response:
    status = field(form, "back") or "pending"
    if action not in ("approve", "reject", "revoke"):
        return redirect(request, f"{BASE}/bindings?status={status}")
    reason = field(form, "reason")
    body = None if action == "approve" else {"reason": reason}
    try:
        decided = await calls(request, session).post(f"/bindings/{binding_id}/{action}", json=body)
    except ApiError as exc:
        queue = await _queue(request, session, status)
        return render(
            request, "bindings.html", session, 422, nav="bindings",
            errors=form_errors(exc), failed_id=binding_id, **queue,
        )
    verb = {"approve": "已通过", "reject": "已驳回", "revoke": "已撤销"}[action]
    add_flash(session, f"{decided['room_label']} {decided['name']} 的认证{verb}")
    return redirect(request, f"{BASE}/bindings?status={status}")


@router.get("/bindings/cleanup")
async def cleanup(request: Request, session: ManagerSession) -> Response:
    cid = need_community(session)
    report = await calls(request, session).get(f"/communities/{cid}/cleanup-report")
    return render(request, "cleanup.html", session, nav="bindings", report=report)
