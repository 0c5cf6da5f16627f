"""A ticket's conversation: staff and the reporter's household write to each other, with
photos; `internal` comments are the staff's own and never reach residents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import new_id
from services.common.events import emit
from services.common.pagination import Keyset, keyset_page
from services.repairs import rules
from services.repairs.errors import InternalCommentNotAllowed
from services.repairs.models import Comment, Ticket, Upload
from services.repairs.schemas import CommentIn
from services.repairs.settings import Settings
from services.repairs.transitions import name_of
from services.repairs.uploads import attach_photos

_OLDEST_FIRST = Keyset((Comment.created_at, Comment.id), ("datetime", "str"), descending=False)
EXCERPT_CHARS = 60


def staff_side(roles: frozenset[str]) -> bool:
    return bool(roles & rules.STAFF_ROLES)


async def add_comment(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    ticket: Ticket,
    roles: frozenset[str],
    data: CommentIn,
    verdict: str,
    now: datetime,
) -> Comment:
    """Writes the comment, attaches its photos (internal ones stay staff-only) and emits
    `repairs.ticket.commented`, in one unit of work."""
    side = "staff" if staff_side(roles) else "resident"
    if data.internal and side != "staff":
        raise InternalCommentNotAllowed()
    comment = Comment(
        id=new_id(),
        ticket_id=ticket.id,
        community_id=ticket.community_id,
        author_id=principal.account_id,
        author_name=await name_of(session, principal, ticket.community_id),
        author_side=side,
        internal=data.internal,
        text=data.text,
        photo_ids=list(data.photo_ids),
        content_check=verdict,
        created_at=now,
    )
    session.add(comment)
    await attach_photos(session, settings, principal, data.photo_ids, ticket, now)
    if data.internal and data.photo_ids:
        await session.execute(
            update(Upload)
            .where(Upload.id.in_(list(data.photo_ids)))
            .values(internal=True)
            .execution_options(synchronize_session=False)
        )
    emit(
        session,
        "repairs.ticket.commented",
        {
            "community_id": ticket.community_id,
            "ticket_id": ticket.id,
            "comment_id": comment.id,
            "reporter_id": ticket.reporter_id,
            "room_id": ticket.room_id,
            "author_id": principal.account_id,
            "author_side": side,
            "internal": data.internal,
            "assignee_id": ticket.assignee_id,
            "department": ticket.department,
            "excerpt": data.text[:EXCERPT_CHARS],
        },
        ordering_key=ticket.id,
    )
    await session.flush()
    return comment


async def list_comments(
    session: AsyncSession, ticket: Ticket, roles: frozenset[str], limit: int, cursor: str | None
) -> tuple[list[Comment], str | None]:
    """Oldest first; residents do not see internal ones."""
    stmt: Select[Comment] = select(Comment).where(Comment.ticket_id == ticket.id)
    if not staff_side(roles):
        stmt = stmt.where(Comment.internal.is_(False))
    return await keyset_page(session, stmt, _OLDEST_FIRST, limit, cursor)
