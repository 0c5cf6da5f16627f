"""WeChat Pay's notify call-back (支付结果通知): verify the signature, refuse replays, decrypt
the resource, check the order and the amount, apply the success once. Every call is recorded
in `pay_notifications`, refused ones too, in its own unit of work so a refusal is kept.

WeChat Pay wants HTTP 200/204 for "received" and anything else, with `{code, message}`, for
"send again"; it retries on its schedule.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import payments, rules
from services.billing.models import Payment, PayNotification
from services.billing.wechatpay import WeChatPayClient
from services.common.db import new_id

log = logging.getLogger("billing.notify")


@dataclass(frozen=True)
class Verdict:
    outcome: str
    status_code: int
    detail: str = ""
    out_trade_no: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status_code < 300


OK = 200


def _refuse(outcome: str, status: int, detail: str, out_trade_no: str | None = None) -> Verdict:
    return Verdict(outcome, status, detail, out_trade_no)


async def handle(
    session: AsyncSession,
    wx: WeChatPayClient,
    headers: dict[str, str],
    body: str,
    now: datetime,
    max_age_seconds: int,
) -> tuple[Verdict, str | None]:
    """The verdict on one notify call, and WeChat Pay's notification id when it had one."""
    if not wx.verify(headers, body):
        return _refuse("bad_signature", 401, "签名验证失败"), None
    timestamp = {k.lower(): v for k, v in headers.items()}.get("wechatpay-timestamp", "")
    if not rules.notify_is_fresh(timestamp, now, max_age_seconds):
        return _refuse("stale", 401, "通知时间戳过期"), None
    try:
        envelope: Any = json.loads(body)
    except ValueError:
        return _refuse("undecryptable", 400, "通知格式错误"), None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("resource"), dict):
        return _refuse("undecryptable", 400, "通知格式错误"), None
    notify_id = str(envelope.get("id") or "")[:64] or None
    transaction = wx.decrypt(envelope["resource"])
    if transaction is None:
        return _refuse("undecryptable", 400, "通知解密失败"), notify_id
    out_trade_no = str(transaction.get("out_trade_no") or "")[:32] or None
    if (
        transaction.get("mchid") != wx.credentials.mchid
        or transaction.get("appid") != wx.credentials.appid
    ):
        return _refuse("unknown_order", 400, "商户号或应用不符", out_trade_no), notify_id
    payment = await session.get(Payment, out_trade_no) if out_trade_no else None
    if payment is None or payment.channel != "wechat":
        return _refuse("unknown_order", 404, "订单不存在", out_trade_no), notify_id
    if transaction.get("trade_state") != "SUCCESS" or envelope.get("event_type") != "TRANSACTION.SUCCESS":
        # Only successes are notified by WeChat Pay; anything else is acknowledged, unused.
        return Verdict("not_success", OK, str(transaction.get("trade_state"))[:40], out_trade_no), notify_id
    if not payments.amount_matches(payment, transaction):
        return _refuse("amount_mismatch", 400, "金额与订单不符", out_trade_no), notify_id
    if notify_id and await _seen(session, notify_id):
        return Verdict("duplicate", OK, "", out_trade_no), notify_id
    if payment.status not in ("created", "closed"):
        return Verdict("duplicate", OK, "已处理", out_trade_no), notify_id
    await payments.apply_success(session, wx, payment, transaction, now)
    return Verdict("accepted", OK, payment.status, out_trade_no), notify_id


async def _seen(session: AsyncSession, notify_id: str) -> bool:
    stmt = select(PayNotification.id).where(
        PayNotification.notify_id == notify_id, PayNotification.outcome == "accepted"
    )
    return (await session.scalar(stmt.limit(1))) is not None


def record(session: AsyncSession, verdict: Verdict, notify_id: str | None, now: datetime) -> None:
    session.add(
        PayNotification(
            id=new_id(),
            notify_id=notify_id,
            out_trade_no=verdict.out_trade_no,
            outcome=verdict.outcome,
            detail=verdict.detail[:200],
            received_at=now,
        )
    )
    if not verdict.accepted:
        log.warning("notify refused", extra={"outcome": verdict.outcome, "out_trade_no": verdict.out_trade_no})
