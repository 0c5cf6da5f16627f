"""投票与问卷: create a vote (motions, scope, times, options) with the API's own validation
messages, open and close it, watch turnout by area and headcount against the 2/3 lines while
it runs (polled), read the art. 278 figures per motion, download the ballots CSV."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from console.api import ApiError
from console.charts import share_chart
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

CHINA = timezone(timedelta(hours=8))
MOTION_ROWS = 5
TWO_THIRDS = Fraction(2, 3)


def local_to_iso(value: str) -> str | None:
    """A `datetime-local` field (Beijing time) as ISO 8601 with its offset; None when empty.
    Anything unparseable is passed on as typed, so the API's own message answers it."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=CHINA).isoformat()
    except ValueError:
        return value


def fraction(value: Any) -> float:
    try:
        return float(Fraction(str(value)))
    except (ValueError, ZeroDivisionError):
        return 0.0


def _items(form: FormData, kind: str) -> dict[str, Any]:
    """A vote's motions, or a survey's questions with their options (one per line)."""
    if kind == "survey":
        questions = []
        for i in range(MOTION_ROWS):
            title = field(form, f"question_title_{i}")
            if title:
                qtype = field(form, f"question_type_{i}") or "single"
                options = [o.strip() for o in field(form, f"question_options_{i}").splitlines() if o.strip()]
                questions.append({"title": title, "type": qtype, "options": [] if qtype == "text" else options})
        return {"questions": questions}
    motions = []
    for i in range(MOTION_ROWS):
        title = field(form, f"motion_title_{i}")
        if title:
            motions.append({"title": title, "matter": field(form, f"motion_matter_{i}") or "ordinary"})
    return {"motions": motions}


def vote_body(form: FormData, cid: str) -> dict[str, Any]:
    kind = "survey" if field(form, "kind") == "survey" else "vote"
    body: dict[str, Any] = {
        "community_id": cid,
        "kind": kind,
        "title": field(form, "title"),
        "description": field(form, "description"),
        **_items(form, kind),
        "allow_change": form.get("allow_change") == "1",
        "anonymous": form.get("anonymous") == "1",
        "live_results": form.get("live_results") == "1",
    }
    buildings = [b for b in form.getlist("building_ids") if isinstance(b, str) and b]
    if buildings:
        body["scope"] = {"building_ids": buildings}
    opens = local_to_iso(field(form, "opens_at"))
    if opens:
        body["opens_at"] = opens
    closes = local_to_iso(field(form, "closes_at"))
    if closes:
        body["closes_at"] = closes
    return body


@router.get("/votes")
async def votes(request: Request, session: ManagerSession, status: str = "") -> Response:
    cid = need_community(session)
    page = await calls(request, session).get("/votes", community_id=cid, status=status or None, limit=100)
    return render(request, "votes.html", session, nav="votes", items=page["items"], status=status)


async def _new_page(request: Request, session: ManagerSession, errors: dict[str, str], values: dict[str, Any], status: int = 200) -> Response:
    cid = need_community(session)
    tree = await calls(request, session).get(f"/communities/{cid}/buildings")
    return render(
        request, "vote_new.html", session, status, nav="votes", errors=errors, values=values,
        buildings=tree["buildings"], rows=range(MOTION_ROWS),
    )


@router.get("/votes/new")
async def new_vote(request: Request, session: ManagerSession) -> Response:
    return await _new_page(request, session, {}, {"live_results": "1", "kind": "vote"})


@router.post("/votes/new")
async def create_vote(request: Request, session: ManagerSession, form: CheckedForm) -> Response:
    cid = need_community(session)
    try:
        created = await calls(request, session).post("/votes", json=vote_body(form, cid))
    except ApiError as exc:
        values: dict[str, Any] = {k: v for k, v in form.multi_items() if k != "csrf_token"}
        values["building_ids"] = form.getlist("building_ids")
        return await _new_page(request, session, form_errors(exc), values, 422)
    add_flash(session, "投票已创建（草稿），确认无误后点击「开始投票」")
    return redirect(request, f"{BASE}/votes/{created['id']}")


async def _turnout(request: Request, session: ManagerSession, vote_id: str) -> dict[str, Any]:
    api = calls(request, session)
    vote = await api.get(f"/votes/{vote_id}")
    results: dict[str, Any] | None = None
    if vote["status"] == "closed" or (vote["status"] == "open" and vote["live_results"]):
        try:
            results = await api.get(f"/votes/{vote_id}/results")
        except ApiError:
            results = None
    charts = []
    for motion in (results or {}).get("motions", []):
        part = motion["participation"]
        agree = motion["agreement"]
        charts.append(
            {
                "motion": motion,
                "chart": share_chart(
                    [
                        ("参与", fraction(part["area_ratio"]), fraction(part["owners_ratio"])),
                        ("同意（占参与）", fraction(agree["area_ratio"]), fraction(agree["owners_ratio"])),
                    ],
                    float(TWO_THIRDS),
                    "2/3",
                ),
            }
        )
    cast, electorate = int(vote.get("ballots_cast") or 0), int(vote.get("electorate_rooms") or 0)
    return {"vote": vote, "results": results, "charts": charts, "cast": cast, "electorate": electorate}


@router.get("/votes/{vote_id}")
async def vote_page(request: Request, session: ManagerSession, vote_id: str) -> Response:
    return render(request, "vote.html", session, nav="votes", errors={}, **await _turnout(request, session, vote_id))


@router.get("/votes/{vote_id}/turnout")
async def turnout(request: Request, session: ManagerSession, vote_id: str) -> Response:
    return render(request, "_turnout.html", session, **await _turnout(request, session, vote_id))


@router.post("/votes/{vote_id}/{action}")
async def act(request: Request, session: ManagerSession, vote_id: str, action: str, form: CheckedForm) -> Response:
    if action not in ("open", "close"):
        return redirect(request, f"{BASE}/votes/{vote_id}")

    async def refused(errors: dict[str, str]) -> Response:
        context = await _turnout(request, session, vote_id)
        return render(request, "vote.html", session, 422, nav="votes", errors=errors, **context)

    done = "投票已开始" if action == "open" else "投票已结束，结果如下"
    return await post_action(request, session, f"/votes/{vote_id}/{action}", done, f"{BASE}/votes/{vote_id}", refused)


@router.get("/votes/{vote_id}/ballots.csv")
async def ballots_csv(request: Request, session: ManagerSession, vote_id: str) -> Response:
    answer = await calls(request, session).send("GET", f"/votes/{vote_id}/ballots.csv")
    return csv_download(answer, f"ballots-{vote_id}.csv")



