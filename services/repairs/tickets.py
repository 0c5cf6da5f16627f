"""Tickets: submitting one (where one may report, the content check, duplicate suggestions),
a person's transition on it, its timeline, and the flag a removed crew member leaves."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import new_id
from services.common.events import emit
from services.common.identity_replica import queries as replica
from services.repairs import access_rules, rules
from services.repairs.access import require_reporter_in
from services.repairs.config import categories_of
from services.repairs.errors import (
    ConcurrentChange,
    ContentRisky,
    NotDeskOfCommunity,
    PhoneRequired,
    PhotoRequired,
    PlaceAmbiguous,
    PlaceRequired,
    ReporterNotOnRoom,
    RoomNotFound,
    RoomNotVerified,
    UnknownCategory,
)
from services.repairs.models import Ticket, TimelineEntry
from services.repairs.schemas import TicketCreate, TransitionIn
from services.repairs.settings import Settings
from services.repairs.transitions import StepInput, add_timeline, apply, name_of
from services.repairs.uploads import attach_photos
from services.repairs.wechat import ContentChecker

# --- submit -----------------------------------------------------------------------------------


async def _place_of(
    session: AsyncSession, principal: Principal, data: TicketCreate
) -> tuple[str | None, str, str | None]:
    """(room_id, place label, location) after checking the reporter may report there."""
    if data.room_id and data.location:
        raise PlaceAmbiguous()
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
        raise PlaceRequired()
    await require_reporter_in(session, principal, data.community_id)
    return None, data.location, data.location


async def _behalf_of(
    session: AsyncSession, principal: Principal, data: TicketCreate
) -> tuple[str | None, str, str | None, str]:
    """代客报修: (room_id, place label, location, reporter_id) after checking the caller runs
    the community's desk, the room is the community's, and a named resident lives there."""
    if not access_rules.is_desk(principal, data.community_id):
        raise NotDeskOfCommunity()
    if data.room_id and data.location:
        raise PlaceAmbiguous()
    reporter = data.reporter_id or principal.account_id
    if data.room_id:
        room = await replica.room(session, data.room_id)
        if room is None or room.community_id != data.community_id:
            raise RoomNotFound()
        if data.reporter_id and not await replica.is_verified_on(
            session, data.reporter_id, room.room_id
        ):
            raise ReporterNotOnRoom()
        return room.room_id, room.label, None, reporter
    if not data.location:
        raise PlaceRequired()
    if data.reporter_id and not await replica.active_bindings_of(
        session, data.reporter_id, data.community_id
    ):
        raise ReporterNotOnRoom()
    return None, data.location, data.location, reporter


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
    return [
        t for t in candidates if t.location and rules.similar_places(t.location, location or "")
    ][:10]


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
    text = "\n".join(filter(None, [data.description, data.location]))
    verdict = await checker.check(text, principal.openid)
    if verdict == "risky":
        raise ContentRisky()
    categories = await categories_of(session, settings, data.community_id)
    category = categories.get(data.category)
    if data.on_behalf:
        room_id, place, location, reporter_id = await _behalf_of(session, principal, data)
    else:
        room_id, place, location = await _place_of(session, principal, data)
        reporter_id = principal.account_id
    if category is None:
        raise UnknownCategory(sorted(categories))
    # On someone's behalf, the phone the desk took down (not the staff member's last one).
    contact_phone = data.contact_phone or (
        None
        if data.on_behalf
        else await session.scalar(
            select(Ticket.contact_phone)
            .where(Ticket.reporter_id == principal.account_id)
            .order_by(Ticket.created_at.desc())
            .limit(1)
        )
    )
    if not contact_phone:
        raise PhoneRequired()
    # A phoned-in report has no picture; one made in the Mini Program does.
    if data.kind == "repair" and not data.photo_ids and not data.on_behalf:
        raise PhotoRequired()
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
        reporter_id=reporter_id,
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
        source="staff" if data.on_behalf else "resident",
        filed_by=principal.account_id if data.on_behalf else None,
        pooled=False,
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
        next_due_at=rules.next_due(
            "submitted",
            {"acknowledge": due.acknowledge, "arrive": due.arrive, "resolve": due.resolve},
        ),
    )
    session.add(ticket)
    await session.flush()
    await attach_photos(session, settings, principal, data.photo_ids, ticket, now)
    add_timeline(
        session, ticket, seq=1, actor_id=principal.account_id,
        actor_name=await name_of(session, principal, ticket.community_id),
        actor_role="desk" if data.on_behalf else "reporter",
        action="submit", from_status=None, note="代客报修" if data.on_behalf else None,
        photo_ids=data.photo_ids, now=now,
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
            "department": ticket.department,
            "source": ticket.source,
            "filed_by": ticket.filed_by,
            "assignee_id": ticket.assignee_id,
        },
        ordering_key=ticket.id,
    )
    await session.flush()
    return ticket, duplicates


# --- after submit -----------------------------------------------------------------------------


async def transition(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    ticket: Ticket,
    roles: frozenset[str],
    data: TransitionIn,
    now: datetime,
) -> Ticket:
    """A person's step on a ticket they may see; a stale `version` is refused with 409."""
    if data.version is not None and data.version != ticket.version:
        raise ConcurrentChange()
    await apply(session, settings, principal, ticket, roles, StepInput.of(data), data.action, now)
    return ticket


async def timeline_of(session: AsyncSession, ticket_id: str) -> list[TimelineEntry]:
    stmt = (
        select(TimelineEntry)
        .where(TimelineEntry.ticket_id == ticket_id)
        .order_by(TimelineEntry.seq)
    )
    return list((await session.scalars(stmt)).all())


async def flag_for_reassignment(
    session: AsyncSession, community_id: str, account_id: str, now: datetime
) -> int:
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
        add_timeline(
            session, ticket, seq=ticket.version + 1, actor_id=None, actor_name="系统",
            actor_role="system", action="flag", from_status=ticket.status,
            note="处理人员已离职，等待重新派单", photo_ids=(), now=now,
        )
    await session.flush()
    return len(tickets)
