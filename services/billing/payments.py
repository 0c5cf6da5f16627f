"""Payments: a JSAPI order for one or several bills (prepay), its success (from a notify or
a query, applied once), its close, and reading it back.

No double charge: an order takes its bills with one conditional UPDATE (`pending_payment_id`
set only where the bill is unpaid and not held by a live order), so of two phones paying the
same bill at once one gets the order and the other 409 `bill_being_paid` before any money
moves. Should money move anyway for a bill already paid (an order paid after it expired and
another paid the bill), the late payment is refunded in full at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import errors, events, rules
from services.billing.bills import record
from services.billing.household import payers_of
from services.billing.models import Bill, Payment, PaymentBill, Refund
from services.billing.schemas import PaymentOut
from services.billing.wechatpay import WeChatPayClient, WeChatPayError, WeChatPayRefused
from services.common.auth import Principal
from services.common.db import dialect_name, execute_dml
from services.common.identity_replica.queries import verified_room_ids

log = logging.getLogger("billing.payments")

AUTO_REFUND_REASON = "账单已由其他支付缴清，自动退款"


def new_trade_no() -> str:
    return uuid.uuid4().hex  # 32 characters, WeChat Pay's out_trade_no limit


async def bill_ids_of(session: AsyncSession, payment_id: str) -> list[str]:
    stmt = select(PaymentBill.bill_id).where(PaymentBill.payment_id == payment_id).order_by(PaymentBill.bill_id)
    return list((await session.scalars(stmt)).all())


async def bills_of(session: AsyncSession, payment: Payment, *, for_update: bool = False) -> list[Bill]:
    stmt = (
        select(Bill)
        .join(PaymentBill, PaymentBill.bill_id == Bill.id)
        .where(PaymentBill.payment_id == payment.id)
        .order_by(Bill.id)
    )
    if for_update and dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update(of=Bill)
    return list((await session.scalars(stmt)).all())


async def payment_out(session: AsyncSession, payment: Payment, pay_params: dict[str, str] | None = None) -> PaymentOut:
    return PaymentOut(
        id=payment.id,
        community_id=payment.community_id,
        channel=payment.channel,
        status=payment.status,
        amount_fen=payment.amount_fen,
        refunded_fen=payment.refunded_fen,
        receipt_no=payment.receipt_no,
        offline_ref=payment.offline_ref,
        created_at=payment.created_at,
        paid_at=payment.paid_at,
        bill_ids=await bill_ids_of(session, payment.id),
        pay_params=pay_params,
    )


async def payable_bills(session: AsyncSession, bill_ids: Sequence[str]) -> list[Bill]:
    """The bills, all of one community and all unpaid; unknown ones answer 404."""
    ids = list(dict.fromkeys(bill_ids))
    bills = list((await session.scalars(select(Bill).where(Bill.id.in_(ids)).order_by(Bill.id))).all())
    if len(bills) != len(ids):
        raise errors.BillNotFound()
    if len({b.community_id for b in bills}) != 1:
        raise errors.MixedCommunities()
    return bills


def _live_hold(bill: Bill, now: datetime) -> bool:
    return bill.pending_payment_id is not None and bill.pending_until is not None and bill.pending_until > now


async def hold_bills(session: AsyncSession, bills: Sequence[Bill], payment_id: str, until: datetime, now: datetime) -> None:
    """Takes the bills for one payment in one conditional UPDATE; 409 unless it got them all
    (the request's unit of work then rolls back whatever it took)."""
    taken = await execute_dml(
        session,
        update(Bill)
        .where(
            Bill.id.in_([b.id for b in bills]),
            Bill.status == "unpaid",
            or_(Bill.pending_payment_id.is_(None), Bill.pending_until <= now),
        )
        .values(pending_payment_id=payment_id, pending_until=until)
        .execution_options(synchronize_session=False),
    )
    if taken != len(bills):
        raise errors.BillBeingPaid()


def _link(session: AsyncSession, payment: Payment, bills: Sequence[Bill]) -> None:
    session.add(payment)
    for b in bills:
        session.add(PaymentBill(payment_id=payment.id, bill_id=b.id, community_id=b.community_id, amount_fen=b.amount_fen))


async def create_order(
    session: AsyncSession,
    wx: WeChatPayClient,
    principal: Principal,
    bill_ids: Sequence[str],
    now: datetime,
    ttl: timedelta,
) -> tuple[Payment, dict[str, str]]:
    bills = await payable_bills(session, bill_ids)
    community_id = bills[0].community_id
    mine = await verified_room_ids(session, principal.account_id, community_id, rules.PAYER_RELATIONS)
    if any(b.room_id not in mine for b in bills):
        raise errors.BillNotFound()
    if any(b.status != "unpaid" for b in bills):
        raise errors.BillNotPayable()
    if not principal.openid:
        raise errors.NoOpenid()
    # A retried request (same caller, same bills, order still live) gets its order again.
    holders = {b.pending_payment_id for b in bills if _live_hold(b, now)}
    if len(holders) == 1 and all(_live_hold(b, now) for b in bills):
        existing = await session.get(Payment, holders.pop())
        if (
            existing is not None
            and existing.status == "created"
            and existing.payer_account_id == principal.account_id
            and existing.prepay_id
            and set(await bill_ids_of(session, existing.id)) == {b.id for b in bills}
        ):
            return existing, wx.pay_params(existing.prepay_id)
    expires = now + ttl
    payment = Payment(
        id=new_trade_no(),
        community_id=community_id,
        channel="wechat",
        status="created",
        amount_fen=sum(b.amount_fen for b in bills),
        refunded_fen=0,
        payer_account_id=principal.account_id,
        payer_openid=principal.openid,
        created_at=now,
        expires_at=expires,
    )
    await hold_bills(session, bills, payment.id, expires, now)
    _link(session, payment, bills)
    await session.flush()
    labels = sorted({b.room_label for b in bills})
    periods = sorted({b.period for b in bills})
    description = f"物业费-{labels[0]}-{periods[0]}" + ("等" if len(bills) > 1 else "")
    try:
        payment.prepay_id = await wx.jsapi_prepay(
            out_trade_no=payment.id,
            description=description,
            amount_fen=payment.amount_fen,
            openid=principal.openid,
            time_expire=expires.astimezone(rules.SHANGHAI),
        )
    except (WeChatPayError, WeChatPayRefused) as exc:
        log.warning("jsapi prepay failed", extra={"payment_id": payment.id, "error": str(exc)})
        raise errors.WeChatPayUnavailable() from None
    return payment, wx.pay_params(payment.prepay_id)


async def release(session: AsyncSession, payment: Payment) -> None:
    await execute_dml(
        session,
        update(Bill)
        .where(Bill.pending_payment_id == payment.id)
        .values(pending_payment_id=None, pending_until=None)
        .execution_options(synchronize_session=False),
    )


def success_time(transaction: dict[str, Any], now: datetime) -> datetime:
    try:
        return datetime.fromisoformat(str(transaction["success_time"]))
    except (KeyError, ValueError):
        return now


async def apply_success(
    session: AsyncSession, wx: WeChatPayClient, payment: Payment, transaction: dict[str, Any], now: datetime
) -> Payment:
    """WeChat Pay says the order was paid (the amount already checked). Applied once: a
    second report (notify twice, notify after query) finds the payment settled and changes
    nothing."""
    if payment.status not in ("created", "closed"):
        return payment
    bills = await bills_of(session, payment, for_update=True)
    payment.transaction_id = str(transaction.get("transaction_id") or "") or None
    payment.paid_at = success_time(transaction, now)
    payment.receipt_no = rules.receipt_number(payment.paid_at, payment.id)
    payment.status = "succeeded"
    payers = await payers_of(session, payment.community_id, [b.room_id for b in bills])
    if all(b.status == "unpaid" for b in bills):
        for b in bills:
            b.status = "paid"
            b.payment_id = payment.id
            b.paid_at = payment.paid_at
            b.pending_payment_id = None
            b.pending_until = None
            record(session, b, "paid", now, amount_fen=b.amount_fen, payment_id=payment.id, actor_id=payment.payer_account_id)
        events.payment_succeeded(session, payment, bills, payers)
        return payment
    # Money moved for a bill that was paid meanwhile: give all of it back.
    await release(session, payment)
    refund = await wechat_refund(session, wx, payment, None, payment.amount_fen, AUTO_REFUND_REASON, None, now)
    payment.status = "refunded"
    events.payment_refunded(
        session, payment, bills, payers, refund_id=refund.id, refund_fen=refund.amount_fen, reason=AUTO_REFUND_REASON
    )
    return payment


async def wechat_refund(
    session: AsyncSession,
    wx: WeChatPayClient,
    payment: Payment,
    bill_id: str | None,
    amount_fen: int,
    reason: str,
    actor_id: str | None,
    now: datetime,
) -> Refund:
    """A refund through WeChat Pay; a failure raises (the unit of work rolls back and the
    caller, or WeChat Pay's notify retry, tries again)."""
    refund_no = new_trade_no()
    try:
        answer = await wx.refund(
            out_trade_no=payment.id,
            out_refund_no=refund_no,
            refund_fen=amount_fen,
            total_fen=payment.amount_fen,
            reason=reason,
        )
    except WeChatPayRefused as exc:
        log.warning("refund refused", extra={"payment_id": payment.id, "error": str(exc)})
        raise errors.PaymentNotRefundable() from None
    except WeChatPayError as exc:
        log.warning("refund failed", extra={"payment_id": payment.id, "error": str(exc)})
        raise errors.WeChatPayUnavailable() from None
    refund = Refund(
        id=refund_no,
        community_id=payment.community_id,
        payment_id=payment.id,
        bill_id=bill_id,
        amount_fen=amount_fen,
        reason=reason,
        status=str(answer.get("status") or "PROCESSING"),
        wechat_refund_id=str(answer.get("refund_id") or "") or None,
        actor_id=actor_id,
        created_at=now,
    )
    session.add(refund)
    payment.refunded_fen += amount_fen
    return refund


def amount_matches(payment: Payment, transaction: dict[str, Any]) -> bool:
    amount = transaction.get("amount")
    return (
        isinstance(amount, dict)
        and amount.get("total") == payment.amount_fen
        and amount.get("currency", "CNY") == "CNY"
    )


async def refresh(session: AsyncSession, wx: WeChatPayClient, payment: Payment, now: datetime) -> Payment:
    """The query path: asks WeChat Pay about an order still waiting and applies the answer
    (paid, closed, or expired → closed at WeChat Pay and the bills released)."""
    if payment.channel != "wechat" or payment.status != "created":
        return payment
    try:
        transaction = await wx.query(payment.id)
    except WeChatPayRefused as exc:
        if exc.code == "ORDER_NOT_EXIST" and payment.expires_at is not None and payment.expires_at <= now:
            payment.status = "closed"
            await release(session, payment)
        return payment
    except WeChatPayError as exc:
        log.warning("order query failed", extra={"payment_id": payment.id, "error": str(exc)})
        return payment
    state = transaction.get("trade_state")
    if state == "SUCCESS":
        if not amount_matches(payment, transaction):
            log.error("order query: amount differs", extra={"payment_id": payment.id})
            return payment
        return await apply_success(session, wx, payment, transaction, now)
    if state in ("CLOSED", "REVOKED", "PAYERROR"):
        payment.status = "closed"
        await release(session, payment)
    elif payment.expires_at is not None and payment.expires_at <= now:
        try:
            await wx.close(payment.id)
        except (WeChatPayError, WeChatPayRefused) as exc:
            log.warning("order close failed", extra={"payment_id": payment.id, "error": str(exc)})
            return payment
        payment.status = "closed"
        await release(session, payment)
    return payment


async def waiting_orders(session: AsyncSession, older_than: datetime, limit: int = 100) -> list[Payment]:
    stmt = (
        select(Payment)
        .where(Payment.channel == "wechat", Payment.status == "created", Payment.created_at <= older_than)
        .order_by(Payment.created_at)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())
