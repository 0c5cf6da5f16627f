"""报事报修: the board of tickets by status with filters (category, building, overdue,
assignee), refreshed by polling while owners and crews act; the ticket page with its
timeline and photos; accept / assign / reassign / cancel with a reason."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console import labels
from console.api import ApiError
from console.web import (
    BASE,
    CheckedForm,
    CurrentSession,
    add_flash,
    calls,
    field,
    form_errors,
    need_community,
    redirect,
    render,
)

router = APIRouter()

BOARD_COLUMNS = (*labels.OPEN_TICKET_STATUSES, "resolved")
# API error codes shown next to a form field rather than above the form.
FIELD_OF_CODE = {
    "reason_required": "note",
    "assignee_required": "assignee_id",
    "assignee_not_found": "assignee_id",
}


def _building_of_rooms(tree: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: b["id"] for b in tree["buildings"] for u in b["units"] for r in u["rooms"]}


async def _board(request: Request, session: CurrentSession) -> dict[str, Any]:
    cid = need_community(session)
    q = request.query_params
    filters = {
        "category": q.get("category", ""),
        "building": q.get("building", ""),
        "overdue": q.get("overdue", ""),
        "assignee": q.get("assignee", ""),
        "status": q.get("status", ""),
    }
    api = calls(request, session)
    page, tree, config, staff = await asyncio.gather(
        api.get(
            "/repairs", community_id=cid, category=filters["category"], assignee=filters["assignee"],
            overdue="true" if filters["overdue"] else None, status=filters["status"], limit=100,
        ),
        api.get(f"/communities/{cid}/buildings"),
        api.get(f"/communities/{cid}/repairs/config"),
        _staff(api, cid) if session.is_manager else _none(),
    )
    tickets: list[dict[str, Any]] = page["items"]
    if filters["building"]:
        rooms = _building_of_rooms(tree)
        tickets = [t for t in tickets if rooms.get(t.get("room_id") or "") == filters["building"]]
    columns = [
        (s, labels.TICKET_STATUSES[s], [t for t in tickets if t["status"] == s])
        for s in (BOARD_COLUMNS if not filters["status"] else (filters["status"],))
        if s in labels.TICKET_STATUSES
    ]
    return {
        "filters": filters,
        "columns": columns,
        "buildings": tree["buildings"],
        "categories": config["categories"],
        "staff": staff,
        "more": bool(page.get("next_cursor")),
        "updated": datetime.now(UTC).astimezone().strftime("%H:%M:%S"),
        "query": str(request.query_params),
    }


async def _none() -> list[dict[str, Any]]:
    return []


async def _staff(api: Any, cid: str) -> list[dict[str, Any]]:
    page = await api.get(f"/communities/{cid}/staff", limit=100)
    items: list[dict[str, Any]] = page["items"]
    return items


@router.get("/tickets")
async def board(request: Request, session: CurrentSession) -> Response:
    return render(request, "tickets.html", session, nav="tickets", **await _board(request, session))


@router.get("/tickets/board")
async def board_part(request: Request, session: CurrentSession) -> Response:
    """The board alone, polled by the page every few seconds."""
    return render(request, "_board.html", session, **await _board(request, session))


async def _crews(api: Any, cid: str, department: str | None) -> list[dict[str, Any]]:
    """The crew of the ticket's department with their open tickets (repairs' workload list),
    least loaded first: whom the desk may assign."""
    crews: list[dict[str, Any]] = await api.get(f"/communities/{cid}/repairs/staff", department=department)
    return sorted(crews, key=lambda c: (c["open_tickets"], c["name"]))


async def _ticket_page(
    request: Request, session: CurrentSession, ticket_id: str, errors: dict[str, str], status: int = 200,
    comment: str = "",
) -> Response:
    api = calls(request, session)
    ticket = await api.get(f"/repairs/{ticket_id}")
    config, conversation = await asyncio.gather(
        api.get(f"/communities/{ticket['community_id']}/repairs/config"),
        api.get(f"/repairs/{ticket_id}/comments", limit=100),
    )
    category = next((c for c in config["categories"] if c["key"] == ticket["category"]), None)
    department = category["department"] if category else None
    crews = await _crews(api, ticket["community_id"], department) if session.is_manager else []
    return render(
        request, "ticket.html", session, status, nav="tickets", t=ticket, crews=crews, errors=errors,
        category=category["name"] if category else ticket["category"], comments=conversation["items"],
        comment=comment, desk_actions=[a for a in labels.DESK_ACTIONS if a in ticket.get("allowed_actions", [])],
    )


@router.get("/tickets/{ticket_id}")
async def ticket(request: Request, session: CurrentSession, ticket_id: str) -> Response:
    return await _ticket_page(request, session, ticket_id, {})


@router.post("/tickets/{ticket_id}/transition")
async def transition(request: Request, session: CurrentSession, ticket_id: str, form: CheckedForm) -> Response:
    action = field(form, "action")
    body: dict[str, Any] = {"action": action}
    if field(form, "note"):
        body["note"] = field(form, "note")
    if field(form, "assignee_id"):
        body["assignee_id"] = field(form, "assignee_id")
    if field(form, "version").isdigit():
        body["version"] = int(field(form, "version"))
    try:
        await calls(request, session).post(f"/repairs/{ticket_id}/transitions", json=body)
    except ApiError as exc:
        errors = form_errors(exc)
        if exc.code in FIELD_OF_CODE:
            errors = {FIELD_OF_CODE[exc.code]: exc.message}
        return await _ticket_page(request, session, ticket_id, {**errors, "_action": action}, 422)
    add_flash(session, f"工单已{labels.TICKET_ACTIONS.get(action, action)}")
    return redirect(request, f"{BASE}/tickets/{ticket_id}")


@router.post("/tickets/{ticket_id}/comments")
async def add_comment(request: Request, session: CurrentSession, ticket_id: str, form: CheckedForm) -> Response:
    """A message on the ticket's conversation: for the household to see, or internal (staff only)."""
    text = field(form, "text")
    body = {"text": text, "internal": field(form, "internal") == "1"}
    try:
        await calls(request, session).post(f"/repairs/{ticket_id}/comments", json=body)
    except ApiError as exc:
        errors = form_errors(exc)
        if "_" in errors:
            errors = {"text": errors["_"]}
        return await _ticket_page(request, session, ticket_id, errors, 422, comment=text)
    add_flash(session, "留言已发送" if not body["internal"] else "内部备注已保存")
    return redirect(request, f"{BASE}/tickets/{ticket_id}#comments")


@router.get("/uploads/{upload_id}")
async def photo(request: Request, session: CurrentSession, upload_id: str) -> Response:
    """A ticket's photo, fetched with the staff member's token (the API serves it only to
    those who may see the ticket)."""
    answer = await calls(request, session).send("GET", f"/uploads/{upload_id}")
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type", "application/octet-stream"),
        headers={"Cache-Control": "private, max-age=300"},
    )
