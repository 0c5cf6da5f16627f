"""Dependencies that load a bill or a payment and authorize the caller in one step.
Unknown and not-yours look the same (404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy import select

from services.billing import errors, rules
from services.billing.models import Bill, Payment, PaymentBill
from services.billing.wechatpay import WeChatPayClient
from services.common.auth import CurrentPrincipal, require_manager
from services.common.db import SessionDep
from services.common.identity_replica.queries import is_verified_on, verified_room_ids

BillId = Annotated[str, Path(min_length=1, max_length=36)]
PaymentId = Annotated[str, Path(min_length=1, max_length=32)]


async def _bill_for_manager(bill_id: BillId, session: SessionDep, principal: CurrentPrincipal) -> Bill:
    bill = await session.get(Bill, bill_id)
    if bill is None:
        raise errors.BillNotFound()
    require_manager(principal, bill.community_id, not_found=errors.BillNotFound)
    return bill


ManagedBill = Annotated[Bill, Depends(_bill_for_manager)]


async def _bill_for_viewer(bill_id: BillId, session: SessionDep, principal: CurrentPrincipal) -> Bill:
    """Managers of its community, or a verified owner of its room (now: rights end on leaving)."""
    bill = await session.get(Bill, bill_id)
    if bill is None:
        raise errors.BillNotFound()
    if principal.is_manager_of(bill.community_id):
        return bill
    if not await is_verified_on(session, principal.account_id, bill.room_id, rules.PAYER_RELATIONS):
        raise errors.BillNotFound()
    return bill


VisibleBill = Annotated[Bill, Depends(_bill_for_viewer)]


async def _payment_for_manager(payment_id: PaymentId, session: SessionDep, principal: CurrentPrincipal) -> Payment:
    payment = await session.get(Payment, payment_id)
    if payment is None:
        raise errors.PaymentNotFound()
    require_manager(principal, payment.community_id, not_found=errors.PaymentNotFound)
    return payment


ManagedPayment = Annotated[Payment, Depends(_payment_for_manager)]


async def _payment_for_viewer(payment_id: PaymentId, session: SessionDep, principal: CurrentPrincipal) -> Payment:
    """Managers of its community, or a current verified owner of a room it paid for."""
    payment = await session.get(Payment, payment_id)
    if payment is None:
        raise errors.PaymentNotFound()
    if principal.is_manager_of(payment.community_id):
        return payment
    rooms = set(
        (
            await session.scalars(
                select(Bill.room_id).join(PaymentBill, PaymentBill.bill_id == Bill.id).where(
                    PaymentBill.payment_id == payment.id
                )
            )
        ).all()
    )
    mine = await verified_room_ids(session, principal.account_id, payment.community_id, rules.PAYER_RELATIONS)
    if not rooms & mine:
        raise errors.PaymentNotFound()
    return payment


VisiblePayment = Annotated[Payment, Depends(_payment_for_viewer)]


def _wechatpay(request: Request) -> WeChatPayClient:
    client: WeChatPayClient = request.app.state.wechatpay
    return client


WeChatPay = Annotated[WeChatPayClient, Depends(_wechatpay)]
