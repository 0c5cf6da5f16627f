"""Ticket lists: a crew's queue (`assignee=me`) and their department's pool
(`assignee=pool`), both soonest deadline first; the desk's view of a community, a resident's
own and their household's, newest first; filtered, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.identity_replica import queries as replica
from services.common.pagination import Keyset, keyset_page, newest_first
from services.repairs import access_rules
from services.repairs.models import Ticket

_NEWEST_FIRST = newest_first(Ticket)
# A queue: the ticket whose running clock runs out first, first.
_SOONEST_DUE = Keyset((Ticket.next_due_at, Ticket.id), ("datetime", "str"), descending=False)
QUEUES = ("me", "pool")


@dataclass(frozen=True)
class ListFilters:
    community_id: str | None = None
    statuses: tuple[str, ...] | None = None
    category: str | None = None
    assignee: str | None = None
    overdue: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    # Only tickets whose next deadline falls before this instant (already past included).
    due_before: datetime | None = None


def due_soon_cutoff(now: datetime, minutes: int) -> datetime:
    return now + timedelta(minutes=minutes)


async def _working(session: AsyncSession, principal: Principal) -> list[str]:
    """Where the caller still works as crew: the token's claims, and the replica agreeing."""
    return sorted(
        set(access_rules.crew_communities(principal))
        & await replica.staff_community_ids(session, principal.account_id, access_rules.CREW_ROLES)
    )


async def list_tickets(
    session: AsyncSession, principal: Principal, f: ListFilters, limit: int, cursor: str | None
) -> tuple[list[Ticket], str | None]:
    """Crews: their queue (`assignee=me`, in the communities they still work for); desk staff with `community_id`: the community's,
    filtered; everyone else: their own tickets and their household's since they joined it."""
    stmt: Select[tuple[Ticket]] = select(Ticket)
    me = principal.account_id
    if f.assignee == "me":
        # Only where they still work: the token's claims, and the replica agreeing.
        working = await _working(session, principal)
        stmt = stmt.where(Ticket.assignee_id == me, Ticket.community_id.in_(working))
        if f.community_id:
            stmt = stmt.where(Ticket.community_id == f.community_id)
    elif f.assignee == "pool":
        # What their department's pools hold, where they still work as crew.
        pools = [
            and_(Ticket.community_id == cid, Ticket.department == principal.department(cid))
            for cid in await _working(session, principal)
            if principal.staff_role(cid) == "crew"
        ]
        stmt = stmt.where(
            Ticket.pooled.is_(True), Ticket.status == "accepted", Ticket.assignee_id.is_(None),
            or_(false(), *pools),
        )
        if f.community_id:
            stmt = stmt.where(Ticket.community_id == f.community_id)
    elif f.community_id and access_rules.is_desk(principal, f.community_id):
        stmt = stmt.where(Ticket.community_id == f.community_id)
        if f.assignee:
            stmt = stmt.where(Ticket.assignee_id == f.assignee)
    elif f.community_id and principal.is_staff_of(f.community_id):
        stmt = stmt.where(Ticket.community_id == f.community_id, Ticket.assignee_id == me)
    else:
        stmt = await households_tickets(session, stmt, me, f.community_id)
    if f.statuses:
        stmt = stmt.where(Ticket.status.in_(f.statuses))
    if f.due_before is not None:
        stmt = stmt.where(Ticket.next_due_at <= f.due_before)
    if f.category:
        stmt = stmt.where(Ticket.category == f.category)
    if f.overdue is not None:
        stmt = stmt.where(Ticket.overdue.is_(f.overdue))
    if f.created_from:
        stmt = stmt.where(Ticket.created_at >= f.created_from)
    if f.created_to:
        stmt = stmt.where(Ticket.created_at < f.created_to)
    order = _SOONEST_DUE if f.assignee in QUEUES else _NEWEST_FIRST
    return await keyset_page(session, stmt, order, limit, cursor)


async def households_tickets(
    session: AsyncSession, stmt: Select[tuple[Ticket]], account_id: str, community_id: str | None
) -> Select[tuple[Ticket]]:
    """Narrows to a resident's own tickets and their household's: each room's tickets filed
    since they were bound to it."""
    since = await replica.bound_since(session, account_id, community_id)
    stmt = stmt.where(
        or_(
            Ticket.reporter_id == account_id,
            *(and_(Ticket.room_id == r, Ticket.created_at >= t) for r, t in since.items()),
        )
    )
    if community_id:
        stmt = stmt.where(Ticket.community_id == community_id)
    return stmt
