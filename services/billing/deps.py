"""Dependencies that load a bill or a payment and authorize the caller in one step.
Unknown and not-yours look the same (404)."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, Path
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import errors, rules
from services.billing.models import Bill, Payment, PaymentBill
from services.billing.wechatpay import WeChatPayClient
from services.common.auth import CurrentPrincipal, require_manager
from services.common.db import SessionDep
from services.common.errors import DomainError
from services.common.identity_replica.queries import is_verified_on, verified_room_ids
from services.common.state import app_state

BillId = Annotated[str, Path(min_length=1, max_length=36)]
PaymentId = Annotated[str, Path(min_length=1, max_length=32)]
Row = TypeVar("Row", Bill, Payment)


async def _load(session: AsyncSession, model: type[Row], key: str, missing: type[DomainError]) -> Row:
    row = await session.get(model, key)
    if row is None:
        raise missing()
    return row


async def _bill_for_manager(bill_id: BillId, session: SessionDep, principal: CurrentPrincipal) -> Bill:
    bill = await _load(session, Bill, bill_id, errors.BillNotFound)
    require_manager(principal, bill.community_id, not_found=errors.BillNotFound)
    return bill


ManagedBill = Annotated[Bill, Depends(_bill_for_manager)]


async def _bill_for_viewer(bill_id: BillId, session: SessionDep, principal: CurrentPrincipal) -> Bill:
    """Managers of its community, or a verified owner of its room (now: rights end on leaving)."""
    bill = await _load(session, Bill, bill_id, errors.BillNotFound)
    if principal.is_manager_of(bill.community_id):
        return bill
    if not await is_verified_on(session, principal.account_id, bill.room_id, rules.PAYER_RELATIONS):
        raise errors.BillNotFound()
    return bill


VisibleBill = Annotated[Bill, Depends(_bill_for_viewer)]


async def _payment_for_manager(payment_id: PaymentId, session: SessionDep, principal: CurrentPrincipal) -> Payment:
    payment = await _load(session, Payment, payment_id, errors.PaymentNotFound)
    require_manager(principal, payment.community_id, not_found=errors.PaymentNotFound)
    return payment


ManagedPayment = Annotated[Payment, Depends(_payment_for_manager)]


async def _payment_for_viewer(payment_id: PaymentId, session: SessionDep, principal: CurrentPrincipal) -> Payment:
    """Managers of its community, or a current verified owner of a room it paid for."""
    payment = await _load(session, Payment, payment_id, errors.PaymentNotFound)
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


WeChatPay = Annotated[WeChatPayClient, Depends(app_state("wechatpay", WeChatPayClient))]
