"""The electronic receipt (电子收据) of a settled payment: its number, the rooms, the lines;
as JSON, and as a printable HTML page."""

from __future__ import annotations

from html import escape

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import errors, rules
from services.billing.models import Bill, BillLine, Payment, PaymentBill
from services.billing.schemas import ReceiptLine, ReceiptOut


async def receipt(session: AsyncSession, payment: Payment) -> ReceiptOut:
    if payment.receipt_no is None or payment.paid_at is None:
        raise errors.ReceiptNotReady()
    rows = (
        await session.execute(
            select(Bill.room_label, Bill.period, BillLine.name, BillLine.basis, BillLine.amount_fen)
            .join(PaymentBill, PaymentBill.bill_id == Bill.id)
            .join(BillLine, BillLine.bill_id == Bill.id)
            .where(PaymentBill.payment_id == payment.id)
            .order_by(Bill.room_label, Bill.period, BillLine.name)
        )
    ).all()
    lines = [ReceiptLine(room_label=r[0], period=r[1], name=r[2], basis=r[3], amount_fen=r[4]) for r in rows]
    return ReceiptOut(
        receipt_no=payment.receipt_no,
        payment_id=payment.id,
        community_id=payment.community_id,
        channel=payment.channel,
        channel_name=rules.CHANNEL_NAMES.get(payment.channel, payment.channel),
        offline_ref=payment.offline_ref,
        transaction_id=payment.transaction_id,
        paid_at=payment.paid_at,
        amount_fen=payment.amount_fen,
        amount_yuan=rules.yuan(payment.amount_fen),
        refunded_fen=payment.refunded_fen,
        rooms=sorted({line.room_label for line in lines}),
        lines=lines,
    )


def receipt_html(r: ReceiptOut) -> str:
    """A printable page (A5, no scripts, everything escaped)."""
    paid = r.paid_at.astimezone(rules.SHANGHAI).strftime("%Y-%m-%d %H:%M")
    body = "".join(
        f"<tr><td>{escape(x.room_label)}</td><td>{escape(x.period)}</td><td>{escape(x.name)}</td>"
        f"<td>{escape(x.basis)}</td><td class=n>{rules.yuan(x.amount_fen)}</td></tr>"
        for x in r.lines
    )
    refunded = f"<p>已退款：{rules.yuan(r.refunded_fen)} 元</p>" if r.refunded_fen else ""
    return (
        "<!doctype html><html lang=zh-CN><meta charset=utf-8><title>电子收据 "
        f"{escape(r.receipt_no)}</title><style>@page{{size:A5}}body{{font-family:sans-serif}}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #444;padding:4px}"
        ".n{text-align:right}</style><h1>物业费电子收据</h1>"
        f"<p>收据编号：{escape(r.receipt_no)}</p><p>房号：{escape('、'.join(r.rooms))}</p>"
        f"<p>缴费方式：{escape(r.channel_name)}</p><p>缴费时间：{paid}</p>"
        "<table><tr><th>房号</th><th>账期</th><th>项目</th><th>计费依据</th><th>金额（元）</th></tr>"
        f"{body}<tr><th colspan=4>合计</th><th class=n>{r.amount_yuan}</th></tr></table>{refunded}</html>"
    )
