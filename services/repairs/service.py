"""Repairs use cases: load, apply the rules, write, add outbox events. Flush, never commit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from services.common.auth import Principal
from services.common.db import new_id
from services.common.events import emit
from services.common.identity_replica import queries as replica
from services.common.pagination import decode_cursor, page_of
from services.repairs import rules
from services.repairs.errors import (
    AssigneeNotFound,
    CommunityNotFound,
    ConcurrentChange,
    ContentRisky,
    InvalidTicket,
    PhotoNotFound,
    RoomNotVerified,
    TicketNotFound,
    UploadNotFound,
    UrgeTooSoon,
)
from services.repairs.images import clean_image
from services.repairs.models import CommunityConfig, Ticket, TimelineEntry, Upload
from services.repairs.schemas import RepairsConfig, TicketCreate, TransitionIn
from services.repairs.settings import Settings
from services.repairs.wechat import ContentChecker

# --- community configuration --------------------------------------------------------------


@dataclass(frozen=True)
class CategorySettings:
    key: str
    name: str
    department: str
    arrive_minutes: int
    resolve_minutes: int


def _default_sla(settings: Settings, key: str) -> tuple[int, int]:
    arrive, resolve = settings.category_sla_minutes.get(key) or settings.category_sla_minutes["other"]
    return arrive, resolve


async def categories_of(
    session: AsyncSession, settings: Settings, community_id: str
) -> dict[str, CategorySettings]:
    """The community's categories (its own configuration, else the defaults), with SLA."""
    config = await session.get(CommunityConfig, community_id)
    raw = (config.settings or {}).get("categories") if config else None
    if raw:
        entries = [(c["key"], c["name"], c["department"], c.get("arrive_minutes"), c.get("resolve_minutes")) for c in raw]
    else:
        entries = [(c.key, c.name, c.department, None, None) for c in rules.DEFAULT_CATEGORIES]
    out = {}
    for key, name, department, arrive, resolve in entries:
        d_arrive, d_resolve = _default_sla(settings, key)
        out[key] = CategorySettings(key, name, department, arrive or d_arrive, resolve or d_resolve)
    return out


async def set_config(
    session: AsyncSession, community_id: str, config: RepairsConfig, now: datetime
) -> None:
    row = await session.get(CommunityConfig, community_id)
    value = {"categories": [c.model_dump() for c in config.categories]}
    if row is None:
        session.add(CommunityConfig(community_id=community_id, settings=value, updated_at=now))
    else:
        row.settings = {**(row.settings or {}), **value}
        row.updated_at = now
    await session.flush()


def is_desk(principal: Principal, community_id: str) -> bool:
    """Managers and customer-service staff run the community's tickets."""
    return principal.is_manager_of(community_id) or principal.department(community_id) == "customer_service"


# --- who is who on a ticket ---------------------------------------------------------------


def roles_given(principal: Principal, ticket: Ticket, verified_rooms: set[str]) -> frozenset[str]:
    """The caller's roles on a ticket, knowing the rooms they are verified on."""
    roles = set()
    if ticket.reporter_id == principal.account_id:
        roles.add("reporter")
    if ticket.room_id is not None and ticket.room_id in verified_rooms:
        roles.add("household")
    if is_desk(principal, ticket.community_id):
        roles.add("desk")
    if ticket.assignee_id is not None and ticket.assignee_id == principal.account_id:
        roles.add("assignee")
    return frozenset(roles)


async def roles_on(session: AsyncSession, principal: Principal, ticket: Ticket) -> frozenset[str]:
    verified = (
        {ticket.room_id}
        if ticket.room_id and await replica.is_verified_on(session, principal.account_id, ticket.room_id)
        else set()
    )
    return roles_given(principal, ticket, verified)


async def roles_on_many(
    session: AsyncSession, principal: Principal, tickets: Sequence[Ticket]
) -> list[frozenset[str]]:
    """Roles on a page of tickets with one replica query, not one per ticket."""
    verified = await replica.verified_room_ids(session, principal.account_id) if tickets else set()
    return [roles_given(principal, t, verified) for t in tickets]


async def visible_ticket(
    session: AsyncSession, principal: Principal, ticket_id: str
) -> tuple[Ticket, frozenset[str]]:
    """The ticket and the caller's roles on it; 404 when it is not theirs to see."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketNotFound()
    roles = await roles_on(session, principal, ticket)
    if not roles:
        raise TicketNotFound()
    return ticket, roles


# --- photos -------------------------------------------------------------------------------


async def store_upload(
    session: AsyncSession, settings: Settings, principal: Principal, raw: bytes, now: datetime
) -> Upload:
    image = await asyncio.to_thread(
        clean_image, raw, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_image_pixels
    )
    upload_id = new_id()
    filename = f"{upload_id}.{image.extension}"
    folder = Path(settings.uploads_dir)

    def write() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / filename).write_bytes(image.data)

    await asyncio.to_thread(write)
    upload = Upload(
        id=upload_id,
        owner_id=principal.account_id,
        content_type=image.content_type,
        size=len(image.data),
        width=image.width,
        height=image.height,
        filename=filename,
        created_at=now,
    )
    session.add(upload)
    await session.flush()
    return upload


async def upload_for_viewer(
    session: AsyncSession, settings: Settings, principal: Principal, upload_id: str
) -> tuple[Upload, Path]:
    """A photo for its uploader, or for anyone who may see the ticket it belongs to."""
    upload = await session.get(Upload, upload_id)
    if upload is None:
        raise UploadNotFound()
    if upload.owner_id != principal.account_id:
        if upload.ticket_id is None:
            raise UploadNotFound()
        try:
            await visible_ticket(session, principal, upload.ticket_id)
        except TicketNotFound as exc:
            raise UploadNotFound() from exc
    path = Path(settings.uploads_dir) / upload.filename
    if not path.is_file():
        raise UploadNotFound()
    return upload, path


async def _attach_photos(
    session: AsyncSession, principal: Principal, photo_ids: Sequence[str], ticket: Ticket
) -> None:
    """Photos the caller uploaded and has not used yet become the ticket's."""
    if not photo_ids:
        return
    rows = (
        await session.scalars(
            select(Upload).where(
                Upload.id.in_(list(photo_ids)),
                Upload.owner_id == principal.account_id,
                Upload.ticket_id.is_(None),
            )
        )
    ).all()
    if len(rows) != len(set(photo_ids)):
        raise PhotoNotFound()
    for row in rows:
        row.ticket_id = ticket.id
        row.community_id = ticket.community_id


# --- submit -------------------------------------------------------------------------------


async def _place_of(
    session: AsyncSession, principal: Principal, data: TicketCreate
) -> tuple[str | None, str, str | None]:
    """(room_id, place label, location) after checking the reporter may report there."""
    if data.room_id and data.location:
        raise InvalidTicket("请在“我的房屋”和“公共区域”中选择一项", code="place_ambiguous")
    if data.room_id:
        room = await replica.room(session, data.room_id)
        if (
            room is None
            or room.community_id != data.community_id
            or not await replica.is_verified_on(session, principal.account_id, room.room_id)
        ):
            raise RoomNotVerified()
        return room.room_id, room.label, None
    if not data.location:
        raise InvalidTicket("请选择报修房屋或填写公共区域的具体位置", code="place_required")
    resident = await replica.active_bindings_of(session, principal.account_id, data.community_id)
    if not resident and not principal.is_staff_of(data.community_id):
        raise CommunityNotFound()
    return None, data.location, data.location


async def possible_duplicates(
    session: AsyncSession,
    settings: Settings,
    *,
    community_id: str,
    category: str,
    room_id: str | None,
    location: str | None,
    now: datetime,
    exclude_id: str | None = None,
) -> list[Ticket]:
    """Open tickets of the same community and category from the last 48 hours about the same
    room, or a public place that reads alike."""
    stmt = select(Ticket).where(
        Ticket.community_id == community_id,
        Ticket.category == category,
        Ticket.status.in_(rules.OPEN_STATUSES),
        Ticket.created_at >= now - timedelta(hours=settings.duplicate_window_hours),
    )
    if room_id is not None:
        stmt = stmt.where(Ticket.room_id == room_id)
    else:
        stmt = stmt.where(Ticket.room_id.is_(None))
    if exclude_id is not None:
        stmt = stmt.where(Ticket.id != exclude_id)
    candidates = (await session.scalars(stmt.order_by(Ticket.created_at.desc()).limit(200))).all()
    if room_id is not None:
        return list(candidates[:10])
    return [t for t in candidates if t.location and rules.similar_places(t.location, location or "")][:10]


async def _name_of(session: AsyncSession, principal: Principal, community_id: str) -> str | None:
    return await replica.display_name(session, principal.account_id, community_id) or principal.name


def _add_timeline(
    session: AsyncSession,
    ticket: Ticket,
    *,
    seq: int,
    actor_id: str | None,
    actor_name: str | None,
    actor_role: str,
    action: str,
    from_status: str | None,
    note: str | None,
    photo_ids: Sequence[str],
    now: datetime,
) -> None:
    session.add(
        TimelineEntry(
            id=new_id(),
            ticket_id=ticket.id,
            community_id=ticket.community_id,
            seq=seq,
            actor_id=actor_id,
            actor_name=actor_name,
            actor_role=actor_role,
            action=action,
            from_status=from_status,
            to_status=ticket.status,
            note=note,
            photo_ids=list(photo_ids),
            created_at=now,
        )
    )


async def create_ticket(
    session: AsyncSession,
    settings: Settings,
    checker: ContentChecker,
    principal: Principal,
    data: TicketCreate,
    now: datetime,
) -> tuple[Ticket, list[Ticket]]:
    # WeChat first, before the first query opens a transaction: on SQLite that takes the
    # write lock, which must not be held across an outside call.
    verdict = await checker.check("\n".join(filter(None, [data.description, data.location])), principal.openid)
    if verdict == "risky":
        raise ContentRisky()
    categories = await categories_of(session, settings, data.community_id)
    category = categories.get(data.category)
    room_id, place, location = await _place_of(session, principal, data)
    if category is None:
        raise InvalidTicket(
            "未知的报修类别", code="unknown_category", details={"allowed": sorted(categories)}
        )
    contact_phone = data.contact_phone or await session.scalar(
        select(Ticket.contact_phone)
        .where(Ticket.reporter_id == principal.account_id)
        .order_by(Ticket.created_at.desc())
        .limit(1)
    )
    if not contact_phone:
        raise InvalidTicket("请填写联系电话，方便维修人员联系您", code="phone_required")
    if data.kind == "repair" and not data.photo_ids:
        raise InvalidTicket("报修请至少上传一张现场照片（问题 + 地点 + 联系方式 + 图片）", code="photo_required")
    duplicates = await possible_duplicates(
        session, settings, community_id=data.community_id, category=category.key,
        room_id=room_id, location=location, now=now,
    )
    due = rules.deadlines(
        now,
        acknowledge_minutes=settings.acknowledge_minutes,
        arrive_minutes=category.arrive_minutes,
        resolve_minutes=category.resolve_minutes,
        urgent=data.urgent,
        urgent_arrive_minutes=settings.urgent_arrive_minutes,
    )
    ticket = Ticket(
        id=new_id(),
        community_id=data.community_id,
        reporter_id=principal.account_id,
        kind=data.kind,
        category=category.key,
        department=category.department,
        room_id=room_id,
        place=place,
        location=location,
        description=data.description,
        contact_phone=contact_phone,
        photo_ids=list(data.photo_ids),
        urgent=data.urgent,
        content_check=verdict,
        status="submitted",
        needs_reassignment=False,
        reopen_count=0,
        created_at=now,
        updated_at=now,
        acknowledge_due_at=due.acknowledge,
        arrive_due_at=due.arrive,
        resolve_due_at=due.resolve,
        acknowledge_breached=False,
        arrive_breached=False,
        resolve_breached=False,
        overdue=False,
    )
    session.add(ticket)
    await session.flush()
    await _attach_photos(session, principal, data.photo_ids, ticket)
    _add_timeline(
        session, ticket, seq=1, actor_id=principal.account_id,
        actor_name=await _name_of(session, principal, ticket.community_id), actor_role="reporter",
        action="submit", from_status=None, note=None, photo_ids=data.photo_ids, now=now,
    )
    emit(
        session,
        "repairs.ticket.created",
        {
            "community_id": ticket.community_id,
            "ticket_id": ticket.id,
            "reporter_id": ticket.reporter_id,
            "room_id": ticket.room_id,
            "kind": ticket.kind,
            "category": ticket.category,
            "urgent": ticket.urgent,
            "status": ticket.status,
        },
        ordering_key=ticket.id,
    )
    await session.flush()
    return ticket, duplicates


# --- transitions --------------------------------------------------------------------------


def _status_changed(ticket: Ticket, from_status: str, action: str, note: str | None) -> dict[str, Any]:
    return {
        "community_id": ticket.community_id,
        "ticket_id": ticket.id,
        "reporter_id": ticket.reporter_id,
        "room_id": ticket.room_id,
        "from_status": from_status,
        "to_status": ticket.status,
        "action": action,
        "assignee_id": ticket.assignee_id,
        "note": note,
    }


def _due(ticket: Ticket) -> dict[str, datetime]:
    return {
        "acknowledge": ticket.acknowledge_due_at,
        "arrive": ticket.arrive_due_at,
        "resolve": ticket.resolve_due_at,
    }


def _breached(ticket: Ticket) -> dict[str, bool]:
    return {
        "acknowledge": ticket.acknowledge_breached,
        "arrive": ticket.arrive_breached,
        "resolve": ticket.resolve_breached,
    }


def _overdue_event(
    session: AsyncSession, community_id: str, ticket_id: str, reporter_id: str, clock: str, deadline: datetime
) -> None:
    emit(
        session,
        "repairs.ticket.overdue",
        {
            "community_id": community_id,
            "ticket_id": ticket_id,
            "reporter_id": reporter_id,
            "clock": clock,
            "deadline": deadline.isoformat(),
        },
        ordering_key=ticket_id,
    )


def _record_breach(session: AsyncSession, ticket: Ticket, clock: str) -> None:
    setattr(ticket, f"{clock}_breached", True)
    ticket.overdue = True
    _overdue_event(session, ticket.community_id, ticket.id, ticket.reporter_id, clock, _due(ticket)[clock])


async def _apply(
    session: AsyncSession,
    settings: Settings,
    principal: Principal | None,
    ticket: Ticket,
    roles: frozenset[str],
    data: TransitionIn,
    action: str,
    now: datetime,
) -> None:
    """Checks the step against the table and its requirements, then writes it: the ticket,
    one timeline entry, one outbox event. Nothing is written when a check fails.

    The queries on the way must not flush the half-changed ticket early: the one flush at
    the end is where a concurrent writer's version shows, and becomes a 409."""
    try:
        with session.no_autoflush:
            await _step(session, settings, principal, ticket, roles, data, action, now)
        await session.flush()
    except (StaleDataError, IntegrityError) as exc:
        raise ConcurrentChange() from exc


async def _step(
    session: AsyncSession,
    settings: Settings,
    principal: Principal | None,
    ticket: Ticket,
    roles: frozenset[str],
    data: TransitionIn,
    action: str,
    now: datetime,
) -> None:
    from_status = ticket.status
    to_status = rules.decide(from_status, action, roles)
    role = rules.actor_role(from_status, action, roles)
    note = data.note
    if action == "hold" and not note:
        raise InvalidTicket("请填写暂停原因（如：等待配件）", code="reason_required")
    if action == "cancel" and role == "desk" and not note:
        raise InvalidTicket("物业取消报修须填写原因", code="reason_required")
    if action == "resolve" and not data.photo_ids:
        raise InvalidTicket("请上传完工照片", code="photo_required")
    if action == "confirm" and data.rating is None:
        raise InvalidTicket("请为本次服务评分（1-5 星）", code="rating_required")
    if action == "assign":
        if not data.assignee_id:
            raise InvalidTicket("请选择维修人员", code="assignee_required")
        staff = await replica.staff_member(session, ticket.community_id, data.assignee_id)
        if staff is None or staff.department is None:
            raise AssigneeNotFound()
        ticket.assignee_id = staff.account_id
        ticket.assignee_name = staff.name or None
        ticket.department = staff.department
        ticket.needs_reassignment = False
    if action == "urge":
        if not rules.may_urge(ticket.last_urged_at, now, settings.urge_interval_minutes):
            raise UrgeTooSoon()
        ticket.last_urged_at = now
    if data.photo_ids and principal is not None:
        await _attach_photos(session, principal, data.photo_ids, ticket)

    if action == "accept":
        ticket.accepted_at = now
        ticket.accept_seconds = int((now - ticket.created_at).total_seconds())
    elif action == "start" and ticket.started_at is None:
        ticket.started_at = now
    elif action == "hold":
        ticket.hold_reason = note
    elif action == "resume":
        ticket.hold_reason = None
    elif action == "resolve":
        ticket.resolved_at = now
        ticket.resolve_seconds = int((now - ticket.created_at).total_seconds())
    elif action == "confirm":
        ticket.rating = data.rating
        ticket.rating_comment = data.comment
        ticket.closed_at = now
    elif action == "auto_close":
        ticket.closed_at = now
    elif action == "cancel":
        ticket.cancel_reason = note
        ticket.closed_at = now
    elif action == "reopen":
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.started_at = None
        categories = await categories_of(session, settings, ticket.community_id)
        category = categories.get(ticket.category)
        arrive, resolve = (
            (category.arrive_minutes, category.resolve_minutes)
            if category
            else _default_sla(settings, ticket.category)
        )
        due = rules.deadlines(
            now, acknowledge_minutes=settings.acknowledge_minutes, arrive_minutes=arrive,
            resolve_minutes=resolve, urgent=ticket.urgent,
            urgent_arrive_minutes=settings.urgent_arrive_minutes,
        )
        ticket.arrive_due_at, ticket.resolve_due_at = due.arrive, due.resolve
        ticket.arrive_breached = ticket.resolve_breached = False

    for clock in rules.late_clocks(from_status, to_status, action, now, _due(ticket), _breached(ticket)):
        _record_breach(session, ticket, clock)
    ticket.status = to_status
    ticket.updated_at = now
    _add_timeline(
        session, ticket, seq=ticket.version + 1,
        actor_id=principal.account_id if principal else None,
        actor_name=await _name_of(session, principal, ticket.community_id) if principal else "系统",
        actor_role=role, action=action,
        from_status=from_status, note=data.comment if action == "confirm" and not note else note,
        photo_ids=data.photo_ids, now=now,
    )
    emit(
        session,
        "repairs.ticket.status_changed",
        _status_changed(ticket, from_status, action, note),
        ordering_key=ticket.id,
    )


async def transition(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    ticket: Ticket,
    roles: frozenset[str],
    data: TransitionIn,
    now: datetime,
) -> Ticket:
    if data.version is not None and data.version != ticket.version:
        raise ConcurrentChange()
    await _apply(session, settings, principal, ticket, roles, data, data.action, now)
    return ticket


async def timeline_of(session: AsyncSession, ticket_id: str) -> list[TimelineEntry]:
    stmt = select(TimelineEntry).where(TimelineEntry.ticket_id == ticket_id).order_by(TimelineEntry.seq)
    return list((await session.scalars(stmt)).all())


# --- lists --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListFilters:
    community_id: str | None = None
    status: str | None = None
    category: str | None = None
    assignee: str | None = None
    overdue: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


async def list_tickets(
    session: AsyncSession, principal: Principal, f: ListFilters, limit: int, cursor: str | None
) -> tuple[list[Ticket], str | None]:
    """Crews: their queue (`assignee=me`); desk staff with `community_id`: the community's,
    filtered; everyone else: their own tickets and their household's."""
    stmt: Select[tuple[Ticket]] = select(Ticket)
    me = principal.account_id
    if f.assignee == "me":
        stmt = stmt.where(Ticket.assignee_id == me)
        if f.community_id:
            stmt = stmt.where(Ticket.community_id == f.community_id)
    elif f.community_id and is_desk(principal, f.community_id):
        stmt = stmt.where(Ticket.community_id == f.community_id)
        if f.assignee:
            stmt = stmt.where(Ticket.assignee_id == f.assignee)
    elif f.community_id and principal.is_staff_of(f.community_id):
        stmt = stmt.where(Ticket.community_id == f.community_id, Ticket.assignee_id == me)
    else:
        rooms = await replica.verified_room_ids(session, me, f.community_id)
        mine = Ticket.reporter_id == me
        stmt = stmt.where(or_(mine, Ticket.room_id.in_(rooms)) if rooms else mine)
        if f.community_id:
            stmt = stmt.where(Ticket.community_id == f.community_id)
    if f.status:
        stmt = stmt.where(Ticket.status == f.status)
    if f.category:
        stmt = stmt.where(Ticket.category == f.category)
    if f.overdue is not None:
        stmt = stmt.where(Ticket.overdue.is_(f.overdue))
    if f.created_from:
        stmt = stmt.where(Ticket.created_at >= f.created_from)
    if f.created_to:
        stmt = stmt.where(Ticket.created_at < f.created_to)
    after = decode_cursor(cursor, 2)
    if after is not None:
        try:
            at = datetime.fromisoformat(str(after[0]))
        except ValueError as exc:
            from services.common.errors import BadRequest

            raise BadRequest("分页游标无效", code="invalid_cursor") from exc
        stmt = stmt.where(
            or_(Ticket.created_at < at, and_(Ticket.created_at == at, Ticket.id < str(after[1])))
        )
    stmt = stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(stmt)).all())
    return page_of(rows, limit, lambda t: [t.created_at.isoformat(), t.id])


# --- statistics ---------------------------------------------------------------------------


async def _percentiles(
    session: AsyncSession, column: Any, where: list[Any]
) -> tuple[int, int | None, int | None]:
    """Nearest-rank median and p90 of a duration column, in SQL. PostgreSQL has
    `percentile_disc`; SQLite gets the same ranks from window functions (rank ceil(n·p) is
    (n·p + 99) // 100 in integer arithmetic)."""
    if session.bind.dialect.name == "postgresql":
        n, median, p90 = (
            await session.execute(
                select(
                    func.count(column),
                    func.percentile_disc(0.5).within_group(column),
                    func.percentile_disc(0.9).within_group(column),
                ).where(*where, column.is_not(None))
            )
        ).one()
        return int(n or 0), median, p90
    ranked = (
        select(
            column.label("v"),
            func.row_number().over(order_by=column).label("rn"),
            func.count().over().label("n"),
        )
        .where(*where, column.is_not(None))
        .subquery()
    )
    median_rank = (ranked.c.n * 50 + 99) // 100
    p90_rank = (ranked.c.n * 90 + 99) // 100
    stmt = select(
        func.max(ranked.c.n),
        func.max(ranked.c.v).filter(ranked.c.rn == median_rank),
        func.max(ranked.c.v).filter(ranked.c.rn == p90_rank),
    ).where(or_(ranked.c.rn == median_rank, ranked.c.rn == p90_rank))
    n, median, p90 = (await session.execute(stmt)).one()
    return int(n or 0), median, p90


async def stats(
    session: AsyncSession, community_id: str, created_from: datetime | None, created_to: datetime | None
) -> dict[str, Any]:
    where: list[Any] = [Ticket.community_id == community_id]
    if created_from:
        where.append(Ticket.created_at >= created_from)
    if created_to:
        where.append(Ticket.created_at < created_to)
    # One pass for the totals and the counts by state; one per grouping or percentile.
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Ticket.overdue.is_(True)),
                func.count(Ticket.rating),
                func.avg(Ticket.rating),
                func.count().filter(or_(Ticket.resolve_seconds.is_not(None), Ticket.reopen_count > 0)),
                func.count().filter(Ticket.reopen_count > 0),
                *(func.count().filter(Ticket.status == status) for status in rules.STATUSES),
            ).where(*where)
        )
    ).one()
    total, overdue, rated, rating_avg, resolved_ever, reopened = row[:6]
    by_status = dict(zip(rules.STATUSES, row[6:], strict=True))
    by_category = dict(
        (await session.execute(select(Ticket.category, func.count()).where(*where).group_by(Ticket.category))).all()
    )
    accept_n, accept_median, accept_p90 = await _percentiles(session, Ticket.accept_seconds, where)
    resolve_n, resolve_median, resolve_p90 = await _percentiles(session, Ticket.resolve_seconds, where)
    return {
        "community_id": community_id,
        "from_": created_from,
        "to": created_to,
        "total": total,
        "by_status": {s: int(by_status.get(s, 0)) for s in rules.STATUSES},
        "by_category": {k: int(v) for k, v in sorted(by_category.items())},
        "time_to_accept": {"count": accept_n, "median_seconds": accept_median, "p90_seconds": accept_p90},
        "time_to_resolve": {"count": resolve_n, "median_seconds": resolve_median, "p90_seconds": resolve_p90},
        "overdue_share": round(overdue / total, 4) if total else None,
        "satisfaction_average": round(float(rating_avg), 2) if rating_avg is not None else None,
        "rated": rated,
        "reopen_rate": round(reopened / resolved_ever, 4) if resolved_ever else None,
    }


# --- scheduler work -----------------------------------------------------------------------

_CLOCK_COLUMNS = {
    "acknowledge": (Ticket.acknowledge_due_at, Ticket.acknowledge_breached, "acknowledge_breached"),
    "arrive": (Ticket.arrive_due_at, Ticket.arrive_breached, "arrive_breached"),
    "resolve": (Ticket.resolve_due_at, Ticket.resolve_breached, "resolve_breached"),
}


async def mark_breaches(session: AsyncSession, now: datetime, batch: int = 500) -> int:
    """Records each SLA clock that ran out and emits `repairs.ticket.overdue` once for it.

    The flag is set by a conditional UPDATE (`... AND <clock>_breached = false`), so two
    schedulers racing over the same ticket emit one event between them."""
    emitted = 0
    for clock, (due_col, flag_col, flag_name) in _CLOCK_COLUMNS.items():
        running = rules.CLOCK_RUNNING[clock]
        candidates = (
            await session.execute(
                select(Ticket.id, Ticket.community_id, Ticket.reporter_id, due_col)
                .where(Ticket.status.in_(running), flag_col.is_(False), due_col <= now)
                .limit(batch)
            )
        ).all()
        for ticket_id, community_id, reporter_id, due in candidates:
            result = await session.execute(
                update(Ticket)
                .where(Ticket.id == ticket_id, flag_col.is_(False), Ticket.status.in_(running))
                # A version bump, so a transition that loaded the ticket before this and
                # would record the same breach again loses with 409 instead.
                .values({flag_name: True, "overdue": True, "version": Ticket.version + 1})
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                continue
            _overdue_event(session, community_id, ticket_id, reporter_id, clock, due)
            emitted += 1
    await session.flush()
    return emitted


async def due_for_auto_close(session: AsyncSession, settings: Settings, now: datetime, batch: int = 200) -> list[str]:
    cutoff = now - timedelta(days=settings.auto_close_days)
    stmt = select(Ticket.id).where(Ticket.status == "resolved", Ticket.resolved_at <= cutoff).limit(batch)
    return list((await session.scalars(stmt)).all())


async def auto_close(session: AsyncSession, settings: Settings, ticket_id: str, now: datetime) -> bool:
    """Closes one ticket resolved more than 7 days ago (the system's own transition)."""
    ticket = await session.get(Ticket, ticket_id)
    cutoff = now - timedelta(days=settings.auto_close_days)
    if ticket is None or ticket.status != "resolved" or ticket.resolved_at is None or ticket.resolved_at > cutoff:
        return False
    data = TransitionIn.model_construct(
        note="确认超时，系统自动关闭", assignee_id=None, photo_ids=[], rating=None, comment=None, version=None
    )
    await _apply(session, settings, None, ticket, frozenset({"system"}), data, "auto_close", now)
    return True


async def flag_for_reassignment(session: AsyncSession, community_id: str, account_id: str, now: datetime) -> int:
    """A removed staff member's open tickets wait for a manager to reassign them."""
    tickets = (
        await session.scalars(
            select(Ticket).where(
                Ticket.community_id == community_id,
                Ticket.assignee_id == account_id,
                Ticket.status.in_(("assigned", "in_progress", "on_hold")),
            )
        )
    ).all()
    for ticket in tickets:
        ticket.needs_reassignment = True
        ticket.updated_at = now
        _add_timeline(
            session, ticket, seq=ticket.version + 1, actor_id=None, actor_name="系统", actor_role="system",
            action="flag", from_status=ticket.status, note="处理人员已离职，等待重新派单",
            photo_ids=(), now=now,
        )
    await session.flush()
    return len(tickets)
