"""The events billing emits (docs/events.md), through the outbox in the caller's transaction.
Each carries `account_ids`: the room owners (rules.PAYER_RELATIONS) to tell, as billing's
replica knows them, so notices needs no second lookup. The identity events billing consumes
are handled by the shared identity replica (app.py), and `identity.account.deleted` here too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing.models import Bill, Payment
from services.common.events import EventHandlers, ReceivedEvent, emit
from services.common.events.outbox import emit_many


def bill_issued_payload(bill: dict[str, Any], account_ids: list[str]) -> dict[str, Any]:
    return {
        "community_id": bill["community_id"],
        "bill_id": bill["id"],
        "room_id": bill["room_id"],
        "room_label": bill["room_label"],
        "period": bill["period"],
        "amount_fen": bill["amount_fen"],
        "account_ids": account_ids,
    }


async def bills_issued(session: AsyncSession, payloads: list[dict[str, Any]]) -> int:
    return await emit_many(session, "billing.bill.issued", payloads, ordering_key_field="bill_id")


def _payment(payment: Payment, bills: list[Bill], account_ids: list[str]) -> dict[str, Any]:
    return {
        "community_id": payment.community_id,
        "payment_id": payment.id,
        "channel": payment.channel,
        "amount_fen": payment.amount_fen,
        "receipt_no": payment.receipt_no,
        "bill_ids": [b.id for b in bills],
        "room_labels": sorted({b.room_label for b in bills}),
        "periods": sorted({b.period for b in bills}),
        "account_ids": account_ids,
    }


def payment_succeeded(session: AsyncSession, payment: Payment, bills: list[Bill], account_ids: list[str]) -> None:
    emit(session, "billing.payment.succeeded", _payment(payment, bills, account_ids), ordering_key=payment.id)


def payment_refunded(
    session: AsyncSession,
    payment: Payment,
    bills: list[Bill],
    account_ids: list[str],
    *,
    refund_id: str,
    refund_fen: int,
    reason: str,
) -> None:
    emit(
        session,
        "billing.payment.refunded",
        {**_payment(payment, bills, account_ids), "refund_id": refund_id, "refund_fen": refund_fen, "reason": reason},
        ordering_key=payment.id,
    )


def bill_reminded(session: AsyncSession, bill: Bill, account_ids: list[str]) -> None:
    """催缴: notices pushes it (consent, quiet hours) and puts it in the inbox."""
    emit(
        session,
        "billing.bill.reminded",
        {
            "community_id": bill.community_id,
            "bill_id": bill.id,
            "room_id": bill.room_id,
            "room_label": bill.room_label,
            "period": bill.period,
            "amount_fen": bill.amount_fen,
            "account_ids": account_ids,
        },
        ordering_key=bill.id,
    )


async def on_account_deleted(session: AsyncSession, event: ReceivedEvent) -> None:
    """A deleted account's WeChat openid leaves its payments (PIPL art. 47); the payments,
    amounts and rooms stay, as the accounts need them."""
    await session.execute(
        update(Payment)
        .where(Payment.payer_account_id == str(event.payload["account_id"]))
        .values(payer_openid=None)
    )


def register_billing_handlers(handlers: EventHandlers) -> EventHandlers:
    handlers.on("identity.account.deleted")(on_account_deleted)
    return handlers
