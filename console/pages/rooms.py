"""房产与名册: the room tree by building, and the roster upload (htmx with an upload progress
bar; a refused file shows its error table with line numbers and reasons)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from console.api import ApiError
from console.web import CheckedForm, ManagerSession, calls, need_community, render

router = APIRouter()


@router.get("/rooms")
async def rooms(request: Request, session: ManagerSession, building: str = "") -> Response:
    cid = need_community(session)
    tree = await calls(request, session).get(f"/communities/{cid}/buildings")
    buildings: list[dict[str, Any]] = tree["buildings"]
    chosen = next((b for b in buildings if b["id"] == building), buildings[0] if buildings else None)
    return render(request, "rooms.html", session, nav="rooms", buildings=buildings, chosen=chosen)


@router.post("/rooms/roster")
async def upload_roster(request: Request, session: ManagerSession, form: CheckedForm) -> Response:
    cid = need_community(session)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render(request, "_roster_result.html", session, 422, error="请选择名册文件", rows=[])
    content = await upload.read()
    try:
        result = await calls(request, session).post(
            f"/communities/{cid}/roster",
            files={"file": (upload.filename, content, upload.content_type or "text/csv")},
        )
    except ApiError as exc:
        rows = exc.details.get("errors", []) if isinstance(exc.details, dict) else []
        return render(request, "_roster_result.html", session, 422, error=exc.message, rows=rows)
    return render(request, "_roster_result.html", session, result=result)
