"""The list of votes a caller may see, newest first, a page at a time."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.identity_replica import queries as replica
from services.common.pagination import keyset_page, newest_first
from services.votes import rules
from services.votes.models import Elector, Vote

ORDER = newest_first(Vote)


async def list_votes(
    session: AsyncSession,
    principal: Principal,
    community_id: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Vote], str | None]:
    """Managers: every vote of the communities they manage; others: open and closed votes
    whose electorate holds a room they are verified on."""
    # A cursor this order did not make is 400 even for a caller who may see nothing.
    ORDER.parse(cursor)
    bindings = await replica.active_bindings_of(session, principal.account_id, community_id)
    room_ids = sorted({b.room_id for b in bindings})
    managed = [c for c in principal.staff if principal.is_manager_of(c)]
    conditions: list[ColumnElement[bool]] = []
    if room_ids:
        in_electorate = select(Elector.vote_id).where(Elector.room_id.in_(room_ids))
        conditions.append(and_(Vote.status.in_(rules.WITH_ELECTORATE), Vote.id.in_(in_electorate)))
    if managed:
        conditions.append(Vote.community_id.in_(managed))
    if principal.platform_admin and community_id is not None:
        conditions.append(Vote.community_id == community_id)
    if not conditions:
        return [], None
    stmt = select(Vote).where(or_(*conditions))
    if community_id is not None:
        stmt = stmt.where(Vote.community_id == community_id)
    if status is not None:
        stmt = stmt.where(Vote.status == status)
    return await keyset_page(session, stmt, ORDER, limit, cursor)
