"""Offline payments (cash at the desk, bank transfer) recorded by a manager with the paper
receipt's number; they settle the bills at once and get an electronic receipt too."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import errors, events, rules
from services.billing.bills import record
from services.billing.household import payers_of
from services.billing.models import Payment
from services.billing.payments import _link, bill_ids_of, hold_bills, new_trade_no, payable_bills


async def record_offline(
    session: AsyncSession,
    community_id: str,
    bill_ids: Sequence[str],
    channel: str,
    offline_ref: str,
    actor_id: str,
    now: datetime,
) -> Payment:
    """Idempotent on the receipt number: the same number for the same bills again returns
    the payment recorded the first time."""
    bills = await payable_bills(session, bill_ids)
    if bills[0].community_id != community_id:
        raise errors.BillNotFound()
    earlier = await session.scalar(
        select(Payment).where(
            Payment.community_id == community_id, Payment.channel == channel, Payment.offline_ref == offline_ref
        )
    )
    if earlier is not None and set(await bill_ids_of(session, earlier.id)) == {b.id for b in bills}:
        return earlier
    if any(b.status != "unpaid" for b in bills):
        raise errors.BillNotPayable()
    payment = Payment(
        id=new_trade_no(),
        community_id=community_id,
        channel=channel,
        status="succeeded",
        amount_fen=sum(b.amount_fen for b in bills),
        refunded_fen=0,
        recorded_by=actor_id,
        offline_ref=offline_ref,
        created_at=now,
        paid_at=now,
    )
    payment.receipt_no = rules.receipt_number(now, payment.id)
    # The same conditional take as an order: a bill held by a live WeChat Pay order is not
    # settled at the desk at the same time (409 bill_being_paid).
    await hold_bills(session, bills, payment.id, now, now)
    _link(session, payment, bills)
    for b in bills:
        b.status = "paid"
        b.payment_id = payment.id
        b.paid_at = now
        b.pending_payment_id = None
        b.pending_until = None
        record(session, b, "paid", now, amount_fen=b.amount_fen, payment_id=payment.id, actor_id=actor_id,
               reason=f"{rules.CHANNEL_NAMES[channel]} {offline_ref}")
    events.payment_succeeded(session, payment, bills, await payers_of(session, community_id, [b.room_id for b in bills]))
    return payment
