"""通知公告: compose with an audience picker (community, buildings, units, roles), submit,
approve (another manager), publish, withdraw; reach by building as a chart, the unread
households (the care list first), the receipts CSV; reach refreshed by polling."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from console.api import ApiError
from console.charts import reach_chart
from console.pages.votes import local_to_iso
from console.web import (
    BASE,
    CheckedForm,
    ManagerSession,
    add_flash,
    calls,
    csv_download,
    field,
    form_errors,
    need_community,
    post_action,
    redirect,
    render,
)

router = APIRouter()

ACTIONS = {"submit": "已提交审批", "approve": "已审批", "publish": "已发布", "withdraw": "已撤回"}
# What each status allows (the API decides; this only chooses the buttons shown).
BUTTONS = {
    "draft": ("submit", "publish"),
    "submitted": ("approve",),
    "approved": ("publish",),
    "scheduled": ("withdraw",),
    "published": ("withdraw",),
}


def audience(form: FormData) -> dict[str, Any]:
    kind = field(form, "audience_kind") or "community"
    out: dict[str, Any] = {"kind": kind}
    if kind == "buildings":
        out["building_ids"] = [b for b in form.getlist("building_ids") if isinstance(b, str) and b]
    elif kind == "units":
        units = []
        for value in form.getlist("units"):
            if isinstance(value, str) and "|" in value:
                building_id, unit = value.split("|", 1)
                units.append({"building_id": building_id, "unit": unit or None})
        out["units"] = units
    roles = [r for r in form.getlist("roles") if isinstance(r, str) and r]
    if roles:
        out["roles"] = roles
    return out


def notice_body(form: FormData, cid: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "community_id": cid,
        "title": field(form, "title"),
        "body": field(form, "body"),
        "category": field(form, "category"),
        "audience": audience(form),
        "pinned": form.get("pinned") == "1",
    }
    for name in ("publish_at", "expires_at"):
        value = local_to_iso(field(form, name))
        if value:
            body[name] = value
    return body


@router.get("/notices")
async def notices(request: Request, session: ManagerSession) -> Response:
    cid = need_community(session)
    page = await calls(request, session).get("/notices", community_id=cid, view="manage", limit=100)
    return render(request, "notices.html", session, nav="notices", items=page["items"])


async def _compose(request: Request, session: ManagerSession, errors: dict[str, str], values: dict[str, Any], status: int = 200) -> Response:
    cid = need_community(session)
    tree = await calls(request, session).get(f"/communities/{cid}/buildings")
    return render(request, "notice_new.html", session, status, nav="notices", errors=errors, values=values, buildings=tree["buildings"])


@router.get("/notices/new")
async def compose(request: Request, session: ManagerSession) -> Response:
    return await _compose(request, session, {}, {"category": "announcement", "audience_kind": "community"})


@router.post("/notices/new")
async def create(request: Request, session: ManagerSession, form: CheckedForm) -> Response:
    cid = need_community(session)
    try:
        created = await calls(request, session).post("/notices", json=notice_body(form, cid))
    except ApiError as exc:
        values: dict[str, Any] = {k: v for k, v in form.multi_items() if k != "csrf_token"}
        for many in ("building_ids", "units", "roles"):
            values[many] = form.getlist(many)
        errors = form_errors(exc)
        return await _compose(request, session, errors, values, 422)
    add_flash(session, "通知已保存为草稿")
    return redirect(request, f"{BASE}/notices/{created['id']}")


async def _reach(request: Request, session: ManagerSession, notice_id: str) -> dict[str, Any]:
    api = calls(request, session)
    notice = await api.get(f"/notices/{notice_id}")
    receipts = None
    if notice["status"] in ("published", "withdrawn", "expired"):
        receipts = await api.get(f"/notices/{notice_id}/receipts")
    chart = None
    if receipts:
        chart = reach_chart([(b["building_name"], b["targeted"], b["read"]) for b in receipts["by_building"]])
    return {"notice": notice, "receipts": receipts, "chart": chart, "buttons": BUTTONS.get(notice["status"], ())}


@router.get("/notices/{notice_id}")
async def notice_page(request: Request, session: ManagerSession, notice_id: str) -> Response:
    return render(request, "notice.html", session, nav="notices", errors={}, **await _reach(request, session, notice_id))


@router.get("/notices/{notice_id}/reach")
async def reach(request: Request, session: ManagerSession, notice_id: str) -> Response:
    return render(request, "_reach.html", session, **await _reach(request, session, notice_id))


@router.post("/notices/{notice_id}/resend")
async def resend(request: Request, session: ManagerSession, notice_id: str, form: CheckedForm) -> Response:
    """再次提醒未读: the API pushes the notice again to the households that have not read it
    (any published notice; at most once per interval, its refusal shown in Chinese)."""
    try:
        answer = await calls(request, session).post(f"/notices/{notice_id}/resend")
    except ApiError as exc:
        context = await _reach(request, session, notice_id)
        return render(request, "notice.html", session, 422, nav="notices", errors=form_errors(exc), **context)
    add_flash(session, f"已再次提醒 {answer['households']} 户未读住户（{answer['accounts']} 个账号）")
    return redirect(request, f"{BASE}/notices/{notice_id}")


@router.post("/notices/{notice_id}/{action}")
async def act(request: Request, session: ManagerSession, notice_id: str, action: str, form: CheckedForm) -> Response:
    if action not in ACTIONS:
        return redirect(request, f"{BASE}/notices/{notice_id}")

    async def refused(errors: dict[str, str]) -> Response:
        context = await _reach(request, session, notice_id)
        return render(request, "notice.html", session, 422, nav="notices", errors=errors, **context)

    back = f"{BASE}/notices/{notice_id}"
    return await post_action(request, session, f"/notices/{notice_id}/{action}", f"通知{ACTIONS[action]}", back, refused)


@router.get("/notices/{notice_id}/receipts.csv")
async def receipts_csv(request: Request, session: ManagerSession, notice_id: str) -> Response:
    answer = await calls(request, session).send("GET", f"/notices/{notice_id}/receipts", params={"format": "csv"})
    return csv_download(answer, f"receipts-{notice_id}.csv")
