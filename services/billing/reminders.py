"""催缴 reminders: for overdue unpaid bills, at most one per bill per N days; each is an event
that notices turns into an inbox entry and a subscribe-message push under its consent and
quiet-hour rules (so billing never pushes on its own)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import events, rules
from services.billing.bills import record
from services.billing.household import payers_by_room
from services.billing.models import Bill
from services.billing.schemas import RemindIn, RemindOut


async def remind(
    session: AsyncSession, community_id: str, body: RemindIn, actor_id: str, now: datetime, spacing_days: int
) -> RemindOut:
    where = [Bill.community_id == community_id, Bill.status == "unpaid", Bill.due_at <= now]
    if body.bill_ids is not None:
        where.append(Bill.id.in_(body.bill_ids))
    if body.building_id:
        where.append(Bill.building_id == body.building_id)
    if body.min_overdue_days:
        where.append(Bill.due_at < rules.due_cutoff(now, body.min_overdue_days))
    candidates = list((await session.scalars(select(Bill).where(*where))).all())
    payers = await payers_by_room(session, community_id, [b.room_id for b in candidates])
    with_owner = [b for b in candidates if payers.get(b.room_id)]
    # One conditional UPDATE takes the spacing rule's slot: two managers sending at once
    # cannot remind the same bill twice.
    recent_before = now - timedelta(days=spacing_days)
    taken = set(
        (
            await session.scalars(
                update(Bill)
                .where(
                    Bill.id.in_([b.id for b in with_owner]),
                    or_(Bill.last_reminded_at.is_(None), Bill.last_reminded_at <= recent_before),
                )
                .values(last_reminded_at=now)
                .returning(Bill.id)
                .execution_options(synchronize_session=False)
            )
        ).all()
    ) if with_owner else set()
    for b in with_owner:
        if b.id in taken:
            b.last_reminded_at = now
            record(session, b, "reminded", now, actor_id=actor_id)
            events.bill_reminded(session, b, payers[b.room_id])
    return RemindOut(
        reminded=len(taken),
        skipped_recent=len(with_owner) - len(taken),
        skipped_no_owner=len(candidates) - len(with_owner),
    )
