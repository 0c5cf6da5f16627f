"""HTTP routes of the repairs service: parse, call the use case, map to responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import AfterValidator
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import CurrentPrincipal, Principal
from services.common.clock import Now
from services.common.db import SessionDep
from services.common.identity_replica.catch_up import raise_if_binding_syncing
from services.common.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page
from services.common.phones import mask_phone
from services.common.state import DecodeSlotsDep
from services.common.validation import to_utc
from services.repairs import (
    access,
    access_rules,
    config,
    rules,
    stats,
    tickets,
    transitions,
    uploads,
)
from services.repairs.deps import (
    CheckedTransition,
    CheckerDep,
    DeskCommunity,
    ManagedCommunity,
    ReportingCommunity,
    SettingsDep,
    ViewableUpload,
    VisibleTicket,
)
from services.repairs.errors import (
    InvalidStatusFilter,
    NaiveDatetime,
    RoomNotVerified,
    UploadNotAllowed,
)
from services.repairs.labels import STATUS_LABELS
from services.repairs.listing import ListFilters, due_soon_cutoff
from services.repairs.listing import list_tickets as list_page
from services.repairs.models import Ticket, TimelineEntry
from services.repairs.schemas import (
    DuplicateOut,
    PhotoOut,
    RepairsConfig,
    StatsOut,
    TicketCreate,
    TicketCreated,
    TicketDetail,
    TicketOut,
    TimelineOut,
    UploadOut,
)
from services.repairs.settings import Settings

router = APIRouter(tags=["repairs"])

# A query datetime, in UTC when it has an offset; naive ones reach `_aware`, which explains them.
InstantParam = Annotated[datetime, AfterValidator(to_utc)]


def photo_out(settings: Settings, photo_id: str) -> PhotoOut:
    return PhotoOut(id=photo_id, url=f"{settings.public_path_prefix}/uploads/{photo_id}")


def _ticket_out(
    settings: Settings,
    principal: Principal,
    ticket: Ticket,
    roles: frozenset[str],
    now: datetime,
) -> dict[str, object]:
    phone = ticket.contact_phone
    return {
        **{c: getattr(ticket, c) for c in TicketOut.model_fields if hasattr(ticket, c)},
        "contact_phone": (
            phone
            if access_rules.shows_full_phone(principal, ticket.community_id, roles)
            else mask_phone(phone)
        ),
        "photos": [photo_out(settings, p) for p in ticket.photo_ids],
        "status_label": STATUS_LABELS[ticket.status],
        "content_flagged": ticket.content_check != "pass",
        "allowed_actions": rules.actions_for(ticket.status, roles),
        "breaches": rules.breach_flags(
            ticket.status, now, transitions.due_of(ticket), transitions.breached_of(ticket)
        ),
    }


def _timeline_out(settings: Settings, entry: TimelineEntry) -> TimelineOut:
    return TimelineOut(
        seq=entry.seq,
        action=entry.action,
        actor_id=entry.actor_id,
        actor_name=entry.actor_name,
        actor_role=entry.actor_role,
        from_status=entry.from_status,
        to_status=entry.to_status,
        note=entry.note,
        photos=[photo_out(settings, p) for p in entry.photo_ids],
        created_at=entry.created_at,
    )


async def ticket_detail(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    ticket: Ticket,
    roles: frozenset[str],
    now: datetime,
) -> dict[str, object]:
    """The ticket as the caller may see it, with its timeline (every route that answers one)."""
    timeline = await tickets.timeline_of(session, ticket.id)
    return _ticket_out(settings, principal, ticket, roles, now) | {
        "timeline": [_timeline_out(settings, e) for e in timeline]
    }


@router.post("/uploads", response_model=UploadOut, status_code=201)
async def upload_photo(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    slots: DecodeSlotsDep,
    now: Now,
    file: Annotated[
        UploadFile, File(description="JPEG, PNG, WebP 或 HEIC 图片，≤ 10 MB，≤ 2500 万像素")
    ],
) -> UploadOut:
    raw = await file.read(settings.max_upload_bytes + 1)
    try:
        upload = await uploads.store_upload(session, settings, slots, principal, raw, now)
    except UploadNotAllowed:
        # Verified a moment ago and not replicated yet: 409 binding_syncing, not a refusal.
        await raise_if_binding_syncing(request, session, principal.account_id)
        raise
    return UploadOut(
        **photo_out(settings, upload.id).model_dump(),
        content_type=upload.content_type,
        width=upload.width,
        height=upload.height,
        size=upload.size,
    )


@router.get("/uploads/{upload_id}", response_class=FileResponse)
async def get_photo(photo: ViewableUpload) -> FileResponse:
    return FileResponse(
        photo.path,
        media_type=photo.upload.content_type,
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.post("/repairs", response_model=TicketCreated, status_code=201)
async def submit_ticket(
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    checker: CheckerDep,
    now: Now,
    body: TicketCreate,
    request: Request,
) -> dict[str, object]:
    try:
        ticket, duplicates = await tickets.create_ticket(
            session, settings, checker, principal, body, now
        )
    except RoomNotVerified:
        # Verified a moment ago and not replicated yet: 409 binding_syncing, not a refusal.
        await raise_if_binding_syncing(request, session, principal.account_id, body.community_id)
        raise
    roles = await access.roles_on(session, principal, ticket)
    return await ticket_detail(session, settings, principal, ticket, roles, now) | {
        "possible_duplicates": [
            DuplicateOut(
                id=d.id, category=d.category, place=d.place, status=d.status,
                status_label=STATUS_LABELS[d.status], created_at=d.created_at,
            )
            for d in duplicates
        ]
    }


@router.get("/repairs", response_model=Page[TicketOut])
async def list_tickets(
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    now: Now,
    community_id: Annotated[str | None, Query(max_length=36)] = None,
    status: Annotated[
        str | None,
        Query(
            max_length=200,
            description="a status, `open` (assigned + in_progress + on_hold), or a comma-"
            "separated set of them",
        ),
    ] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    assignee: Annotated[
        str | None,
        Query(
            max_length=36,
            description="`me` (the crew's queue), `pool` (their department's pool; both soonest "
            "deadline first), or a staff account id",
        ),
    ] = None,
    overdue: bool | None = None,
    due_soon: Annotated[
        bool | None,
        Query(description="only tickets whose next deadline is within `REPAIRS_DUE_SOON_MINUTES`"),
    ] = None,
    created_from: Annotated[InstantParam | None, Query(alias="from")] = None,
    created_to: Annotated[InstantParam | None, Query(alias="to")] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[TicketOut]:
    require_aware(created_from, created_to)
    try:
        statuses = rules.status_set(status)
    except ValueError as exc:
        raise InvalidStatusFilter(str(exc)) from exc
    filters = ListFilters(
        community_id, statuses, category, assignee, overdue, created_from, created_to,
        due_before=due_soon_cutoff(now, settings.due_soon_minutes) if due_soon else None,
    )
    rows, next_cursor = await list_page(session, principal, filters, limit, cursor)
    roles = await access.roles_on_many(session, principal, rows)
    items = [
        TicketOut.model_validate(_ticket_out(settings, principal, t, r, now))
        for t, r in zip(rows, roles, strict=True)
    ]
    return Page[TicketOut](items=items, next_cursor=next_cursor)


@router.get("/repairs/{ticket_id}", response_model=TicketDetail)
async def get_ticket(
    session: SessionDep, settings: SettingsDep, now: Now, seen: VisibleTicket
) -> dict[str, object]:
    return await ticket_detail(session, settings, seen.principal, seen.ticket, seen.roles, now)


@router.post("/repairs/{ticket_id}/transitions", response_model=TicketDetail)
async def transition(
    body: CheckedTransition,
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
    seen: VisibleTicket,
) -> dict[str, object]:
    ticket = await tickets.transition(
        session, settings, seen.principal, seen.ticket, seen.roles, body, now
    )
    roles = await access.roles_on(session, seen.principal, ticket)
    return await ticket_detail(session, settings, seen.principal, ticket, roles, now)


@router.get("/communities/{cid}/repairs/stats", response_model=StatsOut, response_model_by_alias=True)
async def community_stats(
    session: SessionDep,
    cid: DeskCommunity,
    created_from: Annotated[InstantParam | None, Query(alias="from")] = None,
    created_to: Annotated[InstantParam | None, Query(alias="to")] = None,
) -> StatsOut:
    require_aware(created_from, created_to)
    return await stats.stats(session, cid, created_from, created_to)


@router.get("/communities/{cid}/repairs/config", response_model=RepairsConfig)
async def get_config(session: SessionDep, settings: SettingsDep, cid: ReportingCommunity) -> RepairsConfig:
    """The community's categories with their departments and SLA minutes (anyone who may
    report there reads them to fill the form)."""
    return await config.config_of(session, settings, cid)


@router.put("/communities/{cid}/repairs/config", response_model=RepairsConfig)
async def put_config(
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
    cid: ManagedCommunity,
    body: RepairsConfig,
) -> RepairsConfig:
    await config.set_config(session, cid, body, now)
    return await config.config_of(session, settings, cid)


def require_aware(*values: datetime | None) -> None:
    for value in values:
        if value is not None and value.tzinfo is None:
            raise NaiveDatetime()
