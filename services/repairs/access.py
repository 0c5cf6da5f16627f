"""Who is who on a ticket: the caller's roles on it, read with the identity replica, and the
ticket as only those with a role may see it (404 to anyone else)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.identity_replica import queries as replica
from services.repairs import access_rules
from services.repairs.errors import NotResidentOfCommunity, TicketNotFound
from services.repairs.models import Ticket


async def require_reporter_in(session: AsyncSession, principal: Principal, community_id: str) -> None:
    """Someone who may report in the community: a resident with an active binding there, or
    its staff; to anyone else the community does not exist (404)."""
    if principal.is_staff_of(community_id):
        return
    if not await replica.active_bindings_of(session, principal.account_id, community_id):
        raise NotResidentOfCommunity()


async def roles_on(session: AsyncSession, principal: Principal, ticket: Ticket) -> frozenset[str]:
    room_id = ticket.room_id
    since = (
        await replica.bound_since(session, principal.account_id, room_ids=[room_id])
        if room_id
        else {}
    )
    return access_rules.roles_given(principal, ticket, since)


async def roles_on_many(
    session: AsyncSession, principal: Principal, tickets: Sequence[Ticket]
) -> list[frozenset[str]]:
    """Roles on a page of tickets with one replica query, not one per ticket."""
    since = await replica.bound_since(session, principal.account_id) if tickets else {}
    return [access_rules.roles_given(principal, t, since) for t in tickets]


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
