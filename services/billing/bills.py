"""Bills: generate a period for every room of a community (idempotent), read one with its
lines and history, list them, adjust or waive an unpaid one with a reason."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import errors, events, rules
from services.billing.fees import fee_items
from services.billing.household import payers_by_room, payers_of
from services.billing.models import Bill, BillEvent, BillLine
from services.billing.schemas import BillDetail, BillEventOut, BillOut, GenerateOut, LineOut
from services.common.db import new_id
from services.common.identity_replica import ReplicaRoom


async def generate(
    session: AsyncSession, community_id: str, period_text: str, now: datetime
) -> GenerateOut:
    """One bill per room of the community for the period, from the fee versions in force at
    its first month. Rooms that already have a bill overlapping the period are skipped, so a
    second run creates nothing. Core inserts (20,000 rooms in one go), one event per bill."""
    period = rules.parse_period(period_text)
    if period is None:
        raise errors.InvalidPeriod()
    versions = rules.versions_in_force(await fee_items(session, community_id), period.first_month)
    if not versions:
        raise errors.NoFeeItems()
    rooms = (
        await session.execute(
            select(
                ReplicaRoom.room_id,
                ReplicaRoom.building_id,
                ReplicaRoom.label,
                ReplicaRoom.area,
                ReplicaRoom.state,
            ).where(ReplicaRoom.community_id == community_id)
        )
    ).all()
    billed = set(
        (
            await session.scalars(
                select(Bill.room_id).where(
                    Bill.community_id == community_id,
                    # A range on the covering index: no period is longer than a year.
                    Bill.first_month.between(period.first_month - 11, period.last_month),
                    Bill.first_month + Bill.months - 1 >= period.first_month,
                )
            )
        ).all()
    )
    payers = await payers_by_room(session, community_id)
    due = rules.due_at(period)
    ids = iter(new_ids(len(rooms) * (1 + len(versions))))
    bill_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    payloads: list[dict[str, Any]] = []
    for room_id, building_id, label, area, state in rooms:
        if room_id in billed:
            continue
        lines = rules.bill_lines(versions, area, state, period.months)
        if not lines:
            continue
        bill = {
            "id": next(ids),
            "community_id": community_id,
            "room_id": room_id,
            "building_id": building_id,
            "room_label": label,
            "period": period.label,
            "first_month": period.first_month,
            "months": period.months,
            "amount_fen": sum(line.amount_fen for line in lines),
            "status": "unpaid",
            "issued_at": now,
            "due_at": due,
        }
        bill_rows.append(bill)
        line_rows.extend(
            {
                "id": next(ids),
                "bill_id": bill["id"],
                "community_id": community_id,
                "fee_item_id": line.fee_item_id,
                "name": line.name,
                "basis": line.basis,
                "amount_fen": line.amount_fen,
            }
            for line in lines
        )
        payloads.append(events.bill_issued_payload(bill, payers.get(room_id, [])))
    if bill_rows:
        try:
            async with session.begin_nested():
                await session.execute(insert(cast(Table, Bill.__table__)), bill_rows)
        except IntegrityError:
            # Another run of the same period won the race; it created these bills.
            raise errors.GenerationConflict() from None
        await session.execute(insert(cast(Table, BillLine.__table__)), line_rows)
        await events.bills_issued(session, payloads)
    return GenerateOut(
        period=period.label,
        created=len(bill_rows),
        skipped=len(rooms) - len(bill_rows),
        amount_fen=sum(b["amount_fen"] for b in bill_rows),
    )


def new_ids(n: int) -> list[str]:
    """`n` random UUIDs from one read of the system's randomness (uuid4 reads it per id,
    which is most of the cost of 60,000 ids)."""
    raw = os.urandom(16 * n)
    return [str(uuid.UUID(bytes=raw[16 * i : 16 * i + 16], version=4)) for i in range(n)]


async def lines_of(session: AsyncSession, bill_ids: Sequence[str]) -> dict[str, list[BillLine]]:
    if not bill_ids:
        return {}
    stmt = select(BillLine).where(BillLine.bill_id.in_(list(bill_ids))).order_by(BillLine.bill_id, BillLine.name)
    out: dict[str, list[BillLine]] = {}
    for line in (await session.scalars(stmt)).all():
        out.setdefault(line.bill_id, []).append(line)
    return out


def bill_out(bill: Bill, lines: Sequence[BillLine], now: datetime) -> BillOut:
    return BillOut(
        id=bill.id,
        community_id=bill.community_id,
        room_id=bill.room_id,
        building_id=bill.building_id,
        room_label=bill.room_label,
        period=bill.period,
        amount_fen=bill.amount_fen,
        status=bill.status,
        paying=bill.status == "unpaid"
        and bill.pending_payment_id is not None
        and bill.pending_until is not None
        and bill.pending_until > now,
        issued_at=bill.issued_at,
        due_at=bill.due_at,
        paid_at=bill.paid_at,
        payment_id=bill.payment_id,
        lines=[LineOut(name=x.name, basis=x.basis, amount_fen=x.amount_fen) for x in lines],
    )


async def bills_out(session: AsyncSession, bills: Sequence[Bill], now: datetime) -> list[BillOut]:
    lines = await lines_of(session, [b.id for b in bills])
    return [bill_out(b, lines.get(b.id, []), now) for b in bills]


async def detail(session: AsyncSession, bill: Bill, now: datetime) -> BillDetail:
    lines = await lines_of(session, [bill.id])
    history = (
        await session.scalars(
            select(BillEvent).where(BillEvent.bill_id == bill.id).order_by(BillEvent.created_at, BillEvent.id)
        )
    ).all()
    issued = BillEventOut(
        action="issued", amount_fen=bill.amount_fen, reason="", actor_id=None, payment_id=None, created_at=bill.issued_at
    )
    return BillDetail(
        **bill_out(bill, lines.get(bill.id, []), now).model_dump(),
        history=[issued]
        + [
            BillEventOut(
                action=h.action,
                amount_fen=h.amount_fen,
                reason=h.reason,
                actor_id=h.actor_id,
                payment_id=h.payment_id,
                created_at=h.created_at,
            )
            for h in history
        ],
    )


def record(
    session: AsyncSession,
    bill: Bill,
    action: str,
    now: datetime,
    *,
    amount_fen: int = 0,
    reason: str = "",
    actor_id: str | None = None,
    payment_id: str | None = None,
) -> None:
    session.add(
        BillEvent(
            id=new_id(),
            bill_id=bill.id,
            community_id=bill.community_id,
            action=action,
            amount_fen=amount_fen,
            reason=reason,
            actor_id=actor_id,
            payment_id=payment_id,
            created_at=now,
        )
    )


def _require_adjustable(bill: Bill, now: datetime) -> None:
    if not rules.can_adjust(bill.status):
        raise errors.BillNotAdjustable()
    if bill.pending_payment_id is not None and bill.pending_until is not None and bill.pending_until > now:
        raise errors.BillBeingPaid()


async def adjust(session: AsyncSession, bill: Bill, amount_fen: int, reason: str, actor_id: str, now: datetime) -> Bill:
    """Adds `amount_fen` (negative lowers it, never below 0) with a reason, as a bill line."""
    _require_adjustable(bill, now)
    delta = max(amount_fen, -bill.amount_fen)
    bill.amount_fen += delta
    session.add(
        BillLine(
            id=new_id(),
            bill_id=bill.id,
            community_id=bill.community_id,
            fee_item_id=None,
            name="调整" if delta >= 0 else "减免",
            basis=reason[:120],
            amount_fen=delta,
        )
    )
    record(session, bill, "adjusted", now, amount_fen=delta, reason=reason, actor_id=actor_id)
    return bill


async def waive(session: AsyncSession, bill: Bill, reason: str, actor_id: str, now: datetime) -> Bill:
    """The whole bill is forgiven: it leaves arrears and the collection rate's billed amount."""
    _require_adjustable(bill, now)
    bill.status = "waived"
    record(session, bill, "waived", now, amount_fen=-bill.amount_fen, reason=reason, actor_id=actor_id)
    return bill


def community_bills(community_id: str, period: str | None, status: str | None, building_id: str | None) -> Select[Any]:
    stmt = select(Bill).where(Bill.community_id == community_id)
    if period:
        stmt = stmt.where(Bill.period == period)
    if status:
        stmt = stmt.where(Bill.status == status)
    if building_id:
        stmt = stmt.where(Bill.building_id == building_id)
    return stmt


async def room_payers(session: AsyncSession, bills: Sequence[Bill]) -> list[str]:
    if not bills:
        return []
    return await payers_of(session, bills[0].community_id, [b.room_id for b in bills])
