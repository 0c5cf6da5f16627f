"""事件投递 (platform admin): per service, deliveries counted by subscriber and status, the
dead and held ones listed, redeliver one or all."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.api import ApiError
from console.web import BASE, AdminSession, CheckedForm, add_flash, calls, field, redirect, render

router = APIRouter()

SERVICES = {"identity": "账号", "repairs": "报修", "votes": "投票", "notices": "通知"}
LISTED = ("dead", "pending")


async def _service(api: Any, service: str, status: str) -> dict[str, Any]:
    try:
        summary, page = await asyncio.gather(
            api.get(f"/admin/events/{service}/summary"),
            api.get(f"/admin/events/{service}/deliveries", status=status, limit=50),
        )
    except ApiError as exc:
        return {"service": service, "label": SERVICES[service], "error": exc.message, "summary": [], "items": []}
    return {"service": service, "label": SERVICES[service], "summary": summary, "items": page["items"], "error": None}


@router.get("/deliveries")
async def deliveries(request: Request, session: AdminSession, status: str = "dead") -> Response:
    status = status if status in LISTED else "dead"
    api = calls(request, session)
    services = await asyncio.gather(*(_service(api, s, status) for s in SERVICES))
    return render(request, "deliveries.html", session, nav="deliveries", services=services, status=status)


@router.post("/deliveries/{service}/redeliver")
async def redeliver(request: Request, session: AdminSession, service: str, form: CheckedForm) -> Response:
    status = field(form, "status") if field(form, "status") in LISTED else "dead"
    if service not in SERVICES:
        return redirect(request, f"{BASE}/deliveries")
    api = calls(request, session)
    delivery_id = field(form, "delivery_id")
    try:
        if delivery_id:
            await api.post(f"/admin/events/{service}/deliveries/{delivery_id}/redeliver")
            add_flash(session, f"已重新投递 #{delivery_id}")
        else:
            result = await api.send("POST", f"/admin/events/{service}/redeliver", params={"status": status})
            add_flash(session, f"{SERVICES[service]}：已重新投递 {result.json()['count']} 条")
    except ApiError as exc:
        add_flash(session, exc.message)
    return redirect(request, f"{BASE}/deliveries?status={status}")
