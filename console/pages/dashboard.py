"""工作台: today's tickets by status, SLA breaches, pending bindings, open votes with their
turnout and the latest notices with their reach; each links to its page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console import labels
from console.api import ApiError
from console.charts import bar_chart
from console.web import Calls, CurrentSession, calls, render

router = APIRouter()

# Community time: "today" is the Beijing day (UTC+8, no daylight saving).
CHINA = timezone(timedelta(hours=8))


def today_start(now: datetime | None = None) -> datetime:
    local = (now or datetime.now(UTC)).astimezone(CHINA)
    return datetime.combine(local.date(), time(0), CHINA)


async def _maybe(coro: Any) -> Any:
    """A card whose call the role may not make shows nothing instead of failing the page."""
    try:
        return await coro
    except ApiError as exc:
        return exc


@router.get("/")
async def dashboard(request: Request, session: CurrentSession) -> Response:
    if session.community_id is None:
        return render(request, "dashboard.html", session, nav="dashboard", empty=True)
    api = calls(request, session)
    cid = session.community_id
    since = today_start().isoformat()
    stats, overdue, today = await asyncio.gather(
        _maybe(api.get(f"/communities/{cid}/repairs/stats", **{"from": since})),
        _maybe(api.get("/repairs", community_id=cid, overdue="true", limit=20)),
        _maybe(api.get("/repairs", community_id=cid, limit=100, **{"from": since})),
    )
    by_status: dict[str, int] = {}
    if isinstance(stats, dict):
        by_status = {k: int(v) for k, v in stats.get("by_status", {}).items()}
    elif isinstance(today, dict):  # crews: counted from the tickets they can see
        for t in today["items"]:
            by_status[t["status"]] = by_status.get(t["status"], 0) + 1
    context: dict[str, Any] = {
        "by_status": by_status,
        "status_chart": bar_chart(
            [labels.TICKET_STATUSES.get(k, k) for k in labels.TICKET_STATUSES],
            [by_status.get(k, 0) for k in labels.TICKET_STATUSES],
            "今日工单",
        ),
        "overdue": overdue["items"] if isinstance(overdue, dict) else [],
    }
    if session.is_manager:
        context.update(await _manager_cards(api, cid))
    return render(request, "dashboard.html", session, nav="dashboard", **context)


async def _manager_cards(api: Calls, cid: str) -> dict[str, Any]:
    pending, votes, notices = await asyncio.gather(
        _maybe(api.get(f"/communities/{cid}/bindings", status="pending", limit=100)),
        _maybe(api.get("/votes", community_id=cid, status="open", limit=10)),
        _maybe(api.get("/notices", community_id=cid, view="manage", limit=5)),
    )
    open_votes = votes["items"] if isinstance(votes, dict) else []
    details = await asyncio.gather(*(_maybe(api.get(f"/votes/{v['id']}")) for v in open_votes))
    vote_rows = []
    for vote, detail in zip(open_votes, details, strict=True):
        cast = electorate = 0
        if isinstance(detail, dict):
            cast, electorate = int(detail.get("ballots_cast") or 0), int(detail.get("electorate_rooms") or 0)
        vote_rows.append({**vote, "cast": cast, "electorate": electorate})
    latest = notices["items"] if isinstance(notices, dict) else []
    reach = await asyncio.gather(
        *(_maybe(api.get(f"/notices/{n['id']}/receipts")) for n in latest if n["status"] == "published")
    )
    reach_by_id = {r["notice_id"]: r for r in reach if isinstance(r, dict)}
    return {
        "pending": pending["items"] if isinstance(pending, dict) else [],
        "pending_more": bool(isinstance(pending, dict) and pending.get("next_cursor")),
        "votes": vote_rows,
        "notices": [{**n, "reach": reach_by_id.get(n["id"])} for n in latest],
    }
