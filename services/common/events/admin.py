"""The operators' API of the event machinery, mounted on every service at `/admin/events`
(the gateway routes `/api/v1/admin/events/{service}/...` here). Platform admins only.

- `GET  /admin/events/summary`: deliveries counted by subscriber and status.
- `GET  /admin/events/deliveries?status=dead|pending|delivered&subscriber=&limit=&cursor=`
- `GET  /admin/events/deliveries/{id}`: one delivery with its attempts.
- `POST /admin/events/deliveries/{id}/redeliver`: back to pending, due now, attempts reset.
- `POST /admin/events/redeliver?status=dead&subscriber=`: the same for every match.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import PlatformAdmin
from services.common.db import SessionDep, execute_dml, utcnow
from services.common.errors import Conflict, NotFound
from services.common.events.models import (
    HELD,
    PENDING,
    Delivery,
    DeliveryAttempt,
)
from services.common.events.outbox import note_events_emitted
from services.common.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    Keyset,
    LimitParam,
    Page,
    keyset_page,
)

router = APIRouter(prefix="/admin/events", tags=["admin-events"], include_in_schema=False)

Status = Literal["pending", "dead", "delivered"]


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: str
    event_type: str
    subscriber: str
    ordering_key: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None


class DeliveryDetail(DeliveryOut):
    attempts_log: list[AttemptOut]


class SummaryRow(BaseModel):
    subscriber: str
    status: str
    count: int


class RedeliverResult(BaseModel):
    count: int


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"
    message = "投递记录不存在"


class DeliveryHeld(Conflict):
    code = "delivery_held"
    message = "该投递正在等待同一对象的前序事件，将按顺序自动发送"


def _reset_values() -> dict[str, object]:
    return {"status": PENDING, "attempts": 0, "next_attempt_at": utcnow(), "claim_token": None}


async def redeliver_one(session: AsyncSession, delivery_id: int) -> Delivery:
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        raise DeliveryNotFound()
    if delivery.status == HELD:
        # Sent on its own it would overtake the earlier event of its key it is waiting for.
        raise DeliveryHeld()
    for name, value in _reset_values().items():
        setattr(delivery, name, value)
    await session.flush()
    note_events_emitted(session)
    return delivery


async def redeliver_all(session: AsyncSession, status: str, subscriber: str | None) -> int:
    query = update(Delivery).where(Delivery.status == status)
    if subscriber:
        query = query.where(Delivery.subscriber == subscriber)
    count = await execute_dml(
        session, query.values(**_reset_values()).execution_options(synchronize_session=False)
    )
    note_events_emitted(session)
    return count


@router.get("/summary", response_model=list[SummaryRow])
async def summary(session: SessionDep, admin: PlatformAdmin) -> list[SummaryRow]:
    rows = (
        await session.execute(
            select(Delivery.subscriber, Delivery.status, func.count())
            .group_by(Delivery.subscriber, Delivery.status)
            .order_by(Delivery.subscriber, Delivery.status)
        )
    ).all()
    return [SummaryRow(subscriber=s, status=st, count=n) for s, st, n in rows]


# Deliveries in the order they were made (their ids only grow).
_OLDEST_FIRST = Keyset((Delivery.id,), ("int",), descending=False)


@router.get("/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    session: SessionDep,
    admin: PlatformAdmin,
    status: Annotated[Status, Query()] = "dead",
    subscriber: Annotated[str | None, Query(max_length=64)] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[DeliveryOut]:
    # "pending" lists every undelivered one, including those held behind an earlier event.
    wanted = [PENDING, HELD] if status == PENDING else [status]
    query = select(Delivery).where(Delivery.status.in_(wanted))
    if subscriber:
        query = query.where(Delivery.subscriber == subscriber)
    page, next_cursor = await keyset_page(session, query, _OLDEST_FIRST, limit, cursor)
    return Page[DeliveryOut](
        items=[DeliveryOut.model_validate(d) for d in page], next_cursor=next_cursor
    )


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
async def get_delivery(delivery_id: int, session: SessionDep, admin: PlatformAdmin) -> DeliveryDetail:
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        raise DeliveryNotFound()
    attempts = (
        await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery_id)
            .order_by(DeliveryAttempt.id)
        )
    ).all()
    return DeliveryDetail(
        **DeliveryOut.model_validate(delivery).model_dump(),
        attempts_log=[AttemptOut.model_validate(a) for a in attempts],
    )


@router.post("/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut)
async def redeliver(delivery_id: int, session: SessionDep, admin: PlatformAdmin) -> DeliveryOut:
    return DeliveryOut.model_validate(await redeliver_one(session, delivery_id))


@router.post("/redeliver", response_model=RedeliverResult)
async def redeliver_matching(
    session: SessionDep,
    admin: PlatformAdmin,
    status: Annotated[Literal["dead", "pending"], Query()] = "dead",
    subscriber: Annotated[str | None, Query(max_length=64)] = None,
) -> RedeliverResult:
    return RedeliverResult(count=await redeliver_all(session, status, subscriber))


__all__ = ["router", "redeliver_one", "redeliver_all"]
