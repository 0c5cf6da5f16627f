"""The repairs service's part of the home screen (`GET /me/home`, assembled by the gateway):
the caller's and their household's tickets still under way, with their status."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import Select, select

from services.common.auth import CurrentPrincipal
from services.common.db import SessionDep
from services.common.validation import CommunityQuery
from services.repairs.listing import households_tickets
from services.repairs.models import Ticket

internal = APIRouter(include_in_schema=False)

# Under way for the owner: everything but closed and cancelled (resolved waits for them).
SHOWN_STATUSES = ("submitted", "accepted", "assigned", "in_progress", "on_hold", "resolved")
HOME_TICKETS = 10


class HomeTicket(BaseModel):
    id: str
    kind: str
    category: str
    place: str
    status: str
    urgent: bool
    created_at: datetime


class RepairsHomePart(BaseModel):
    open_tickets: list[HomeTicket]


@internal.get("/internal/home", response_model=RepairsHomePart)
async def internal_home(
    session: SessionDep,
    principal: CurrentPrincipal,
    community_id: CommunityQuery,
) -> RepairsHomePart:
    stmt: Select[tuple[Ticket]] = select(Ticket)
    stmt = await households_tickets(session, stmt, principal.account_id, community_id)
    stmt = stmt.where(Ticket.status.in_(SHOWN_STATUSES))
    result = await session.execute(
        stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(HOME_TICKETS)
    )
    tickets: list[Ticket] = list(result.scalars().all())  # type: ignore[arg-type]
    return RepairsHomePart(
        open_tickets=[
            HomeTicket(
                id=t.id,
                kind=t.kind,
                category=t.category,
                place=t.place,
                status=t.status,
                urgent=t.urgent,
                created_at=t.created_at,
            )
            for t in tickets
        ]
    )
