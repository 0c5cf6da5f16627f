"""How a ticket takes one step, whoever takes it (a person, or the scheduler's auto-close):
checked against the rules, then the ticket, one timeline entry and one outbox event written
together; a step taken after an SLA deadline records that breach too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from services.common.auth import Principal
from services.common.db import new_id
from services.common.events import emit
from services.common.identity_replica import queries as replica
from services.repairs import rules
from services.repairs.config import sla_minutes
from services.repairs.dispatch import rule_for
from services.repairs.errors import AssigneeNotFound, ConcurrentChange, UrgeTooSoon
from services.repairs.models import Ticket, TimelineEntry
from services.repairs.schemas import TransitionIn
from services.repairs.settings import Settings
from services.repairs.uploads import attach_photos


@dataclass(frozen=True)
class StepInput:
    """What a step carries besides its action (a person's TransitionIn, or the system's)."""

    note: str | None = None
    assignee_id: str | None = None
    photo_ids: list[str] = field(default_factory=list)
    rating: int | None = None
    comment: str | None = None

    @classmethod
    def of(cls, body: TransitionIn) -> StepInput:
        return cls(body.note, body.assignee_id, list(body.photo_ids), body.rating, body.comment)


async def name_of(session: AsyncSession, principal: Principal, community_id: str) -> str | None:
    """How the timeline names a person: the replica's display name, else the token's."""
    return await replica.display_name(session, principal.account_id, community_id) or principal.name


def add_timeline(
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


# --- SLA clocks on the ticket row -------------------------------------------------------------


def due_of(ticket: Ticket) -> dict[str, datetime]:
    return {
        "acknowledge": ticket.acknowledge_due_at,
        "arrive": ticket.arrive_due_at,
        "resolve": ticket.resolve_due_at,
    }


def breached_of(ticket: Ticket) -> dict[str, bool]:
    return {
        "acknowledge": ticket.acknowledge_breached,
        "arrive": ticket.arrive_breached,
        "resolve": ticket.resolve_breached,
    }


@dataclass(frozen=True)
class Breach:
    """One SLA clock of one ticket that ran out (what `repairs.ticket.overdue` says)."""

    community_id: str
    ticket_id: str
    reporter_id: str
    department: str | None
    assignee_id: str | None
    reopen_count: int
    clock: str
    deadline: datetime


def emit_overdue(session: AsyncSession, breach: Breach) -> None:
    emit(
        session,
        "repairs.ticket.overdue",
        {
            "community_id": breach.community_id,
            "ticket_id": breach.ticket_id,
            "reporter_id": breach.reporter_id,
            "department": breach.department,
            "assignee_id": breach.assignee_id,
            "clock": breach.clock,
            "deadline": breach.deadline.isoformat(),
            # A reopen restarts the arrive and resolve clocks: a breach of the new round is
            # a new breach; (ticket_id, clock, reopen_count) is emitted once.
            "reopen_count": breach.reopen_count,
        },
        ordering_key=breach.ticket_id,
    )


def _record_breach(session: AsyncSession, ticket: Ticket, clock: str) -> None:
    setattr(ticket, f"{clock}_breached", True)
    ticket.overdue = True
    emit_overdue(
        session,
        Breach(
            ticket.community_id, ticket.id, ticket.reporter_id, ticket.department,
            ticket.assignee_id, ticket.reopen_count, clock, due_of(ticket)[clock],
        ),
    )


async def _restart_clocks(
    session: AsyncSession, settings: Settings, ticket: Ticket, now: datetime
) -> None:
    """A reopened ticket's arrive and resolve clocks start again, with the category's SLA."""
    arrive, resolve = await sla_minutes(session, settings, ticket.community_id, ticket.category)
    due = rules.deadlines(
        now, acknowledge_minutes=settings.acknowledge_minutes, arrive_minutes=arrive,
        resolve_minutes=resolve, urgent=ticket.urgent,
        urgent_arrive_minutes=settings.urgent_arrive_minutes,
    )
    ticket.arrive_due_at, ticket.resolve_due_at = due.arrive, due.resolve
    ticket.arrive_breached = ticket.resolve_breached = False


# --- the step ---------------------------------------------------------------------------------


def _status_changed(
    ticket: Ticket, from_status: str, action: str, note: str | None, previous_assignee: str | None
) -> dict[str, Any]:
    return {
        "community_id": ticket.community_id,
        "ticket_id": ticket.id,
        "reporter_id": ticket.reporter_id,
        "room_id": ticket.room_id,
        "from_status": from_status,
        "to_status": ticket.status,
        "action": action,
        "assignee_id": ticket.assignee_id,
        "previous_assignee_id": previous_assignee,
        "department": ticket.department,
        "urgent": ticket.urgent,
        "pooled": ticket.pooled,
        "note": note,
    }


async def _give_to(session: AsyncSession, ticket: Ticket, account_id: str) -> None:
    """Puts the ticket on an active crew member of its community (else 422), in their
    department, out of any pool."""
    staff = await replica.staff_member(session, ticket.community_id, account_id)
    if staff is None or not rules.assignable(staff.role, staff.department):
        raise AssigneeNotFound()
    ticket.assignee_id = staff.account_id
    ticket.assignee_name = staff.name or None
    ticket.department = staff.department
    ticket.needs_reassignment = False
    ticket.pooled = False


async def apply(
    session: AsyncSession,
    settings: Settings,
    principal: Principal | None,
    ticket: Ticket,
    roles: frozenset[str],
    data: StepInput,
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
    data: StepInput,
    action: str,
    now: datetime,
) -> None:
    from_status = ticket.status
    previous_assignee = ticket.assignee_id
    to_status = rules.decide(from_status, action, roles)
    role = rules.actor_role(from_status, action, roles)
    note = data.note
    rules.require_inputs(
        action, role, note=note, assignee_id=data.assignee_id, photo_ids=data.photo_ids,
        rating=data.rating,
    )
    if action == "assign":
        assert data.assignee_id is not None  # require_inputs saw to it
        await _give_to(session, ticket, data.assignee_id)
    elif action == "accept_assign":
        rule = await rule_for(session, ticket.community_id, ticket.category)
        to_status, assignee = rules.accept_assign_target(data.assignee_id, rule)
        if assignee is not None:
            await _give_to(session, ticket, assignee)
        else:
            ticket.pooled = True
    elif action == rules.CLAIM:
        assert principal is not None  # people claim; the route checked their department
        await _give_to(session, ticket, principal.account_id)
    if action == "urge":
        if not rules.may_urge(ticket.last_urged_at, now, settings.urge_interval_minutes):
            raise UrgeTooSoon()
        ticket.last_urged_at = now
    if data.photo_ids and principal is not None:
        await attach_photos(session, settings, principal, data.photo_ids, ticket, now)

    if action in ("accept", "accept_assign"):
        ticket.accepted_at = now
        ticket.accept_seconds = int((now - ticket.created_at).total_seconds())
    elif action == "start" and ticket.started_at is None:
        ticket.started_at = now
        if ticket.arrive_seconds is None:  # the first arrival counts, not one after a reopen
            ticket.arrive_seconds = int((now - ticket.created_at).total_seconds())
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
        await _restart_clocks(session, settings, ticket, now)

    late = rules.late_clocks(
        from_status, to_status, action, now, due_of(ticket), breached_of(ticket)
    )
    for clock in late:
        _record_breach(session, ticket, clock)
    ticket.status = to_status
    if to_status != "accepted":
        ticket.pooled = False
    ticket.next_due_at = rules.next_due(to_status, due_of(ticket))
    ticket.updated_at = now
    add_timeline(
        session, ticket, seq=ticket.version + 1,
        actor_id=principal.account_id if principal else None,
        actor_name=await name_of(session, principal, ticket.community_id) if principal else "系统",
        actor_role=role, action=action,
        from_status=from_status, note=data.comment if action == "confirm" and not note else note,
        photo_ids=data.photo_ids, now=now,
    )
    emit(
        session,
        "repairs.ticket.status_changed",
        _status_changed(ticket, from_status, action, note, previous_assignee),
        ordering_key=ticket.id,
    )
