"""Inbox and push texts for billing's events (pure): a bill issued, a payment settled or
refunded, an arrears reminder (催缴). Amounts arrive in integer 分 and are shown in 元."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.notices.event_messages import InboxMessage
from services.notices.rules import clean_text

BILLING_EVENTS = (
    "billing.bill.issued",
    "billing.bill.reminded",
    "billing.payment.succeeded",
    "billing.payment.refunded",
)
BILLS_LINK = "/pages/bills/index"
RECEIPT_LINK = "/pages/bills/receipt?id={}"


def yuan(fen: Any) -> str:
    value = int(fen or 0)
    return f"{value // 100}.{value % 100:02d}"


def billing_message(event_type: str, payload: Mapping[str, Any]) -> InboxMessage | None:
    room = clean_text(str(payload.get("room_label") or "、".join(payload.get("room_labels") or [])))
    period = clean_text(str(payload.get("period") or "、".join(payload.get("periods") or [])))
    amount = yuan(payload.get("amount_fen"))
    if event_type == "billing.bill.issued":
        return InboxMessage("bill_issued", "物业费账单已出", f"{room} {period} 物业费 {amount} 元，请按时缴纳。", BILLS_LINK, "billing")
    if event_type == "billing.bill.reminded":
        return InboxMessage("bill_reminder", "物业费缴费提醒", f"{room} {period} 物业费 {amount} 元尚未缴纳，请尽快缴费。", BILLS_LINK, "billing")
    if event_type == "billing.payment.succeeded":
        link = RECEIPT_LINK.format(payload.get("payment_id", ""))
        return InboxMessage("payment_succeeded", "物业费缴费成功", f"{room} {period} 已缴费 {amount} 元，收据号 {payload.get('receipt_no') or ''}。", link, "billing")
    if event_type == "billing.payment.refunded":
        reason = clean_text(str(payload.get("reason") or ""))
        return InboxMessage("payment_refunded", "物业费已退款", f"{room} 退款 {yuan(payload.get('refund_fen'))} 元：{reason}".rstrip("："), BILLS_LINK, "billing")
    return None
