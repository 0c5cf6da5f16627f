"""`GET /me/bills`: the caller's rooms (where they are a verified owner) with their bills,
unpaid first, and what each room and all of them still owe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import rules
from services.billing.bills import bills_out
from services.billing.models import Bill
from services.billing.schemas import MyBillsOut, RoomBills
from services.common.identity_replica.queries import active_bindings_of

# Unpaid bills of every room are shown, and the latest settled ones up to this many a room.
SETTLED_SHOWN = 12


async def my_bills(session: AsyncSession, account_id: str, community_id: str | None, now: datetime) -> MyBillsOut:
    bindings = await active_bindings_of(session, account_id, community_id, rules.PAYER_RELATIONS)
    rooms: list[RoomBills] = []
    for binding in sorted({b.room_id: b for b in bindings}.values(), key=lambda b: b.room_id):
        stmt = (
            select(Bill)
            .where(Bill.room_id == binding.room_id)
            .order_by(case((Bill.status == "unpaid", 0), else_=1), Bill.first_month.desc())
        )
        bills = list((await session.scalars(stmt)).all())
        unpaid = [b for b in bills if b.status == "unpaid"]
        shown = unpaid + [b for b in bills if b.status != "unpaid"][:SETTLED_SHOWN]
        if not bills:
            continue
        rooms.append(
            RoomBills(
                room_id=binding.room_id,
                room_label=bills[0].room_label,
                community_id=binding.community_id,
                unpaid_fen=sum(b.amount_fen for b in unpaid),
                bills=await bills_out(session, shown, now),
            )
        )
    return MyBillsOut(unpaid_fen=sum(r.unpaid_fen for r in rooms), rooms=rooms)
