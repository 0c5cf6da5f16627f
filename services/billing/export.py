"""CSV exports for the accountant (formula-safe, services.common.csv_export): the bills of a
period, and the payments and refunds of a date range."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import rules
from services.billing.models import Bill, Payment, Refund
from services.common.csv_export import Row

STATUS_NAMES = {"unpaid": "未缴", "paid": "已缴", "waived": "已减免"}
PAYMENT_STATUS_NAMES = {"created": "待支付", "succeeded": "已支付", "closed": "已关闭", "refunded": "已退款"}

BILLS_HEADER: Row = ["房号", "楼栋ID", "账期", "应收金额(元)", "状态", "缴费时间", "支付单号"]
PAYMENTS_HEADER: Row = ["收据编号", "支付单号", "方式", "状态", "金额(元)", "已退款(元)", "缴费时间", "线下单据号", "微信支付交易号"]
REFUND_HEADER: Row = ["退款单号", "支付单号", "账单ID", "退款金额(元)", "原因", "状态", "时间"]


def _local(moment: datetime | None) -> str:
    return moment.astimezone(rules.SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


async def bill_rows(session: AsyncSession, community_id: str, period: str) -> Iterator[Row]:
    stmt = select(Bill).where(Bill.community_id == community_id, Bill.period == period).order_by(Bill.room_label, Bill.id)
    bills = (await session.scalars(stmt)).all()
    return (
        [b.room_label, b.building_id, b.period, rules.yuan(b.amount_fen), STATUS_NAMES.get(b.status, b.status),
         _local(b.paid_at), b.payment_id or ""]
        for b in bills
    )


async def payment_rows(session: AsyncSession, community_id: str, start: datetime, end: datetime) -> Iterator[Row]:
    stmt = (
        select(Payment)
        .where(
            Payment.community_id == community_id,
            Payment.paid_at >= start,
            Payment.paid_at < end,
        )
        .order_by(Payment.paid_at, Payment.id)
    )
    payments = (await session.scalars(stmt)).all()
    return (
        [p.receipt_no or "", p.id, rules.CHANNEL_NAMES.get(p.channel, p.channel),
         PAYMENT_STATUS_NAMES.get(p.status, p.status), rules.yuan(p.amount_fen), rules.yuan(p.refunded_fen),
         _local(p.paid_at), p.offline_ref or "", p.transaction_id or ""]
        for p in payments
    )


async def refund_rows(session: AsyncSession, community_id: str, start: datetime, end: datetime) -> Iterator[Row]:
    stmt = (
        select(Refund)
        .where(Refund.community_id == community_id, Refund.created_at >= start, Refund.created_at < end)
        .order_by(Refund.created_at, Refund.id)
    )
    refunds = (await session.scalars(stmt)).all()
    return (
        [r.id, r.payment_id, r.bill_id or "", rules.yuan(r.amount_fen), r.reason, r.status, _local(r.created_at)]
        for r in refunds
    )
