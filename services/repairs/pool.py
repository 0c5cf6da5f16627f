"""The department pool (抢单): a ticket accepted into it waits until a crew member of its
department claims it; the first claim wins, every later one gets 409."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.identity_replica import queries as replica
from services.repairs import access_rules, rules
from services.repairs.errors import (
    AlreadyClaimed,
    ConcurrentChange,
    NotInDepartment,
    TicketNotFound,
)
from services.repairs.models import Ticket
from services.repairs.settings import Settings
from services.repairs.transitions import StepInput, apply


async def claim(
    session: AsyncSession, settings: Settings, principal: Principal, ticket_id: str, now: datetime
) -> Ticket:
    """The caller takes a pooled ticket. Not crew of its community (token and replica): 404;
    crew of another department: 403; no longer in the pool (claimed, reassigned, cancelled)
    or a concurrent claim landed first: 409 `already_claimed`."""
    ticket = await session.get(Ticket, ticket_id)
    me = principal.account_id
    if (
        ticket is None
        or principal.staff_role(ticket.community_id) != "crew"
        or await replica.staff_member(session, ticket.community_id, me) is None
    ):
        raise TicketNotFound()
    if principal.department(ticket.community_id) != ticket.department:
        raise NotInDepartment()
    if not access_rules.may_claim(principal, ticket) or ticket.status != "accepted":
        raise AlreadyClaimed()
    try:
        await apply(
            session, settings, principal, ticket, frozenset({"pool"}), StepInput(), rules.CLAIM, now
        )
    except ConcurrentChange as exc:
        raise AlreadyClaimed() from exc
    return ticket
