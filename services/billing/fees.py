"""Fee items of a community: create a version (a rate change is a new version of the same
code from a later month), list them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import errors, rules
from services.billing.models import FeeItem
from services.billing.schemas import FeeItemIn, FeeItemOut
from services.common.db import new_id


def fee_item_out(item: FeeItem) -> FeeItemOut:
    return FeeItemOut(
        id=item.id,
        community_id=item.community_id,
        code=item.code,
        name=item.name,
        kind=item.kind,
        rate_fen=item.rate_fen,
        vacant_percent=item.vacant_percent,
        effective_from=rules.month_label(item.effective_from),
        active=item.active,
        created_at=item.created_at,
    )


async def create_fee_item(
    session: AsyncSession, community_id: str, body: FeeItemIn, actor_id: str, now: datetime
) -> FeeItem:
    """A new version; posting the very same version again returns it (a retried request)."""
    first = rules.parse_month(body.effective_from)
    if first is None:
        raise errors.InvalidPeriod()
    existing = await session.scalar(
        select(FeeItem).where(
            FeeItem.community_id == community_id,
            FeeItem.code == body.code,
            FeeItem.effective_from == first,
        )
    )
    fields = body.model_dump(exclude={"code", "effective_from"})
    if existing is not None:
        if all(getattr(existing, k) == v for k, v in fields.items()):
            return existing
        raise errors.FeeVersionExists()
    item = FeeItem(
        id=new_id(),
        community_id=community_id,
        code=body.code,
        effective_from=first,
        created_by=actor_id,
        created_at=now,
        **fields,
    )
    try:
        async with session.begin_nested():
            session.add(item)
    except IntegrityError:
        raise errors.FeeVersionExists() from None
    return item


async def fee_items(session: AsyncSession, community_id: str) -> list[FeeItem]:
    stmt = (
        select(FeeItem)
        .where(FeeItem.community_id == community_id)
        .order_by(FeeItem.code, FeeItem.effective_from)
    )
    return list((await session.scalars(stmt)).all())
