"""HTTP routes of the staff side of repairs: the pool claim, a ticket's conversation, the
desk's staff list with workloads, dispatch rules, and per-crew statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.auth import CurrentPrincipal
from services.common.clock import Now
from services.common.db import SessionDep
from services.common.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page
from services.repairs import access, comments, crew_stats, dispatch, pool, workload
from services.repairs.deps import (
    CheckerDep,
    DeskCommunity,
    Id,
    ManagedCommunity,
    SettingsDep,
    VisibleTicket,
)
from services.repairs.errors import ContentRisky
from services.repairs.models import Comment
from services.repairs.router import InstantParam, photo_out, require_aware, ticket_detail
from services.repairs.rules import Department
from services.repairs.schemas import (
    AssignmentRules,
    CommentIn,
    CommentOut,
    CrewStatsOut,
    StaffWorkload,
    TicketDetail,
)
from services.repairs.settings import Settings

router = APIRouter(tags=["repairs"])


@router.post("/repairs/{ticket_id}/claim", response_model=TicketDetail)
async def claim_ticket(
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    now: Now,
    ticket_id: Id,
) -> dict[str, object]:
    """抢单: crew of the ticket's department take it from the pool; the first claim wins, a
    later one gets 409 `already_claimed`, crew of another department 403."""
    ticket = await pool.claim(session, settings, principal, ticket_id, now)
    roles = await access.roles_on(session, principal, ticket)
    return await ticket_detail(session, settings, principal, ticket, roles, now)


def _comment_out(settings: Settings, c: Comment) -> CommentOut:
    return CommentOut(
        id=c.id, ticket_id=c.ticket_id, author_id=c.author_id, author_name=c.author_name,
        author_side=c.author_side, internal=c.internal, text=c.text,
        photos=[photo_out(settings, p) for p in c.photo_ids],
        content_flagged=c.content_check != "pass", created_at=c.created_at,
    )


async def _checked_comment(
    body: CommentIn, principal: CurrentPrincipal, checker: CheckerDep
) -> tuple[CommentIn, str]:
    """The comment and its msgSecCheck verdict, taken before the ticket's transaction opens
    (as a description's is)."""
    verdict = await checker.check(body.text, principal.openid)
    if verdict == "risky":
        raise ContentRisky()
    return body, verdict


@router.post("/repairs/{ticket_id}/comments", response_model=CommentOut, status_code=201)
async def add_comment(
    checked: Annotated[tuple[CommentIn, str], Depends(_checked_comment)],
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
    seen: VisibleTicket,
) -> CommentOut:
    """Staff (`internal` for staff only) or the reporter's household write on the ticket; a
    ticket the caller has no role on is 404."""
    body, verdict = checked
    comment = await comments.add_comment(
        session, settings, seen.principal, seen.ticket, seen.roles, body, verdict, now
    )
    return _comment_out(settings, comment)


@router.get("/repairs/{ticket_id}/comments", response_model=Page[CommentOut])
async def list_comments(
    session: SessionDep,
    settings: SettingsDep,
    seen: VisibleTicket,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[CommentOut]:
    """Oldest first; residents do not see internal comments."""
    rows, next_cursor = await comments.list_comments(session, seen.ticket, seen.roles, limit, cursor)
    return Page[CommentOut](items=[_comment_out(settings, c) for c in rows], next_cursor=next_cursor)


@router.get("/communities/{cid}/repairs/staff", response_model=list[StaffWorkload])
async def staff_list(
    session: SessionDep, cid: DeskCommunity, department: Department | None = None
) -> list[StaffWorkload]:
    """The community's active crew (optionally one department), each with their open
    tickets: the desk's view for assigning."""
    return await workload.staff_workload(session, cid, department)


@router.get("/communities/{cid}/repairs/assignment-rules", response_model=AssignmentRules)
async def get_assignment_rules(session: SessionDep, cid: DeskCommunity) -> AssignmentRules:
    return await dispatch.rules_of(session, cid)


@router.put("/communities/{cid}/repairs/assignment-rules", response_model=AssignmentRules)
async def put_assignment_rules(
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
    cid: ManagedCommunity,
    body: AssignmentRules,
) -> AssignmentRules:
    """Per category: `crew` (a default crew member of the category's department) or `pool`
    (the department's pool); a category without a rule is pooled. Managers only."""
    await dispatch.set_rules(session, settings, cid, body, now)
    return await dispatch.rules_of(session, cid)


@router.get(
    "/communities/{cid}/repairs/stats/crew",
    response_model=CrewStatsOut,
    response_model_by_alias=True,
)
async def crew_statistics(
    session: SessionDep,
    cid: ManagedCommunity,
    created_from: Annotated[InstantParam | None, Query(alias="from")] = None,
    created_to: Annotated[InstantParam | None, Query(alias="to")] = None,
) -> CrewStatsOut:
    """Per crew member and department, over tickets created in the period: managers only."""
    require_aware(created_from, created_to)
    return await crew_stats.crew_stats(session, cid, created_from, created_to)
