"""The daily reconciliation (对账): every WeChat Pay order of a day (Asia/Shanghai) checked
against WeChat Pay's own record (order query), listing each difference. (WeChat Pay's trade
bill download, /v3/bill/tradebill, would also list orders we never created; our orders are
the ones we can owe money on, and each is queried.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing.models import Payment
from services.billing.schemas import Difference, ReconciliationOut
from services.billing.wechatpay import WeChatPayClient, WeChatPayError, WeChatPayRefused

# Our status → the WeChat Pay trade states that agree with it.
AGREES: dict[str, set[str | None]] = {
    "succeeded": {"SUCCESS", "REFUND"},
    "refunded": {"REFUND", "SUCCESS"},
    "created": {"NOTPAY", "USERPAYING"},
    "closed": {"CLOSED", "NOTPAY", "REVOKED", "PAYERROR", None},
}


async def reconcile(
    session: AsyncSession, wx: WeChatPayClient, community_id: str, day: str, start: datetime, end: datetime
) -> ReconciliationOut:
    stmt = (
        select(Payment)
        .where(
            Payment.community_id == community_id,
            Payment.channel == "wechat",
            or_(
                Payment.created_at.between(start, end),
                Payment.paid_at.between(start, end),
            ),
        )
        .order_by(Payment.created_at, Payment.id)
    )
    payments = list((await session.scalars(stmt)).all())
    differences: list[Difference] = []
    for p in payments:
        state: str | None
        total: int | None
        try:
            tx = await wx.query(p.id)
            state = str(tx.get("trade_state"))
            amount = tx.get("amount") or {}
            total = int(amount["total"]) if isinstance(amount, dict) and "total" in amount else None
        except WeChatPayRefused as exc:
            state, total = (None, None) if exc.code == "ORDER_NOT_EXIST" else ("ERROR", None)
        except WeChatPayError:
            state, total = "UNREACHABLE", None
        kind = None
        if state not in AGREES.get(p.status, set()):
            kind = "status_differs"
        elif total is not None and total != p.amount_fen:
            kind = "amount_differs"
        if kind:
            differences.append(
                Difference(
                    payment_id=p.id,
                    kind=kind,
                    ours_status=p.status,
                    ours_amount_fen=p.amount_fen,
                    wechat_state=state,
                    wechat_amount_fen=total,
                )
            )
    return ReconciliationOut(
        date=day, checked=len(payments), matched=len(payments) - len(differences), differences=differences
    )
