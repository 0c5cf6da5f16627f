"""A deleted account's personal data out of repairs' records (identity.account.deleted): its
phone and names erased or replaced by 已注销用户 in tickets, timelines and comments; the
tickets and their history stay (PIPL art. 47)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.repairs import rules
from services.repairs.models import Comment, Ticket, TimelineEntry


async def erase_account(session: AsyncSession, account_id: str) -> int:
    """Every community at once (an account may have reported where it is no longer bound);
    running it again changes nothing. Returns how many tickets it touched."""
    tickets = (
        await session.scalars(
            select(Ticket).where(
                or_(
                    Ticket.reporter_id == account_id,
                    Ticket.assignee_id == account_id,
                    Ticket.id.in_(
                        select(TimelineEntry.ticket_id).where(TimelineEntry.actor_id == account_id)
                    ),
                    Ticket.id.in_(select(Comment.ticket_id).where(Comment.author_id == account_id)),
                )
            )
        )
    ).all()
    if not tickets:
        return 0
    entries = (
        await session.scalars(
            select(TimelineEntry).where(TimelineEntry.ticket_id.in_([t.id for t in tickets]))
        )
    ).all()
    said = (
        await session.scalars(select(Comment).where(Comment.ticket_id.in_([t.id for t in tickets])))
    ).all()
    # What they were called and reached at, wherever someone may have written it down.
    phones = {t.contact_phone for t in tickets if t.reporter_id == account_id and t.contact_phone}
    names = {e.actor_name for e in entries if e.actor_id == account_id and e.actor_name}
    names |= {t.assignee_name for t in tickets if t.assignee_id == account_id and t.assignee_name}
    names |= {c.author_name for c in said if c.author_id == account_id and c.author_name}
    names.discard(rules.ERASED_NAME)

    def erase(text: str | None) -> str | None:
        return rules.erase_mentions(text, phones, names)

    for ticket in tickets:
        if ticket.reporter_id == account_id:
            ticket.contact_phone = ""
        if ticket.assignee_id == account_id and ticket.assignee_name:
            ticket.assignee_name = rules.ERASED_NAME
        for field in (
            "description", "place", "location", "rating_comment", "cancel_reason", "hold_reason"
        ):
            setattr(ticket, field, erase(getattr(ticket, field)))
    for entry in entries:
        if entry.actor_id == account_id:
            entry.actor_name = rules.ERASED_NAME
        entry.note = erase(entry.note)
    for comment in said:
        if comment.author_id == account_id:
            comment.author_name = rules.ERASED_NAME
        comment.text = erase(comment.text) or ""
    await session.flush()
    return len(tickets)
