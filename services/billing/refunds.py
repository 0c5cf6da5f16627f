"""Refunds of a paid bill by a manager, with a reason: through WeChat Pay for a WeChat Pay
payment, recorded as money handed back for an offline one. The bill is owed again (a
manager waives it if nothing is owed); its history keeps the refund."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import errors, events
from services.billing.bills import record
from services.billing.household import payers_of
from services.billing.models import Bill, Payment, PaymentBill, Refund
from services.billing.payments import new_trade_no, wechat_refund
from services.billing.wechatpay import WeChatPayClient


async def refund_bill(
    session: AsyncSession, wx: WeChatPayClient, bill: Bill, reason: str, actor_id: str, now: datetime
) -> Refund:
    if bill.status != "paid" or bill.payment_id is None:
        raise errors.BillNotPaid()
    payment = await session.get(Payment, bill.payment_id)
    if payment is None or payment.status != "succeeded":
        raise errors.PaymentNotRefundable()
    share = await session.scalar(
        select(PaymentBill.amount_fen).where(PaymentBill.payment_id == payment.id, PaymentBill.bill_id == bill.id)
    )
    amount = int(share or 0)
    if amount <= 0 or payment.refunded_fen + amount > payment.amount_fen:
        raise errors.PaymentNotRefundable()
    if payment.channel == "wechat":
        refund = await wechat_refund(session, wx, payment, bill.id, amount, reason, actor_id, now)
    else:
        refund = Refund(
            id=new_trade_no(),
            community_id=payment.community_id,
            payment_id=payment.id,
            bill_id=bill.id,
            amount_fen=amount,
            reason=reason,
            status="SUCCESS",
            actor_id=actor_id,
            created_at=now,
        )
        session.add(refund)
        payment.refunded_fen += amount
    if payment.refunded_fen >= payment.amount_fen:
        payment.status = "refunded"
    bill.status = "unpaid"
    bill.payment_id = None
    bill.paid_at = None
    record(session, bill, "refunded", now, amount_fen=-amount, reason=reason, actor_id=actor_id, payment_id=payment.id)
    events.payment_refunded(
        session,
        payment,
        [bill],
        await payers_of(session, bill.community_id, [bill.room_id]),
        refund_id=refund.id,
        refund_fen=amount,
        reason=reason,
    )
    return refund
