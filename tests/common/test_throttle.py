"""Once per interval on one row (services/common/throttle.py): the pure half, and the slot
taken by a conditional update."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common import throttle
from services.common.db import UTCDateTime, create_engine, create_sessionmaker, new_metadata

T = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "last,now,ok",
    [(None, T, True), (T, T, False), (T, T + timedelta(hours=5, minutes=59), False), (T, T + timedelta(hours=6), True)],
)
def test_allowed_once_per_interval(last, now, ok) -> None:
    assert throttle.allowed(last, now, 6) is ok
    assert throttle.next_allowed_at(last, 6) == (None if last is None else last + timedelta(hours=6))


class _Base(DeclarativeBase):
    metadata = new_metadata()


class _Row(_Base):
    """A row with the stamp and the counter `claim_slot` keeps (as votes and notices have)."""

    __tablename__ = "throttle_probe"

    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    times: Mapped[int] = mapped_column(Integer, default=0)


class _TooSoon(Exception):
    def __init__(self, next_allowed_at: datetime) -> None:
        super().__init__(next_allowed_at)
        self.next_allowed_at = next_allowed_at


async def test_claim_slot_once_per_interval_and_one_of_two_racing_callers(database_urls) -> None:
    engine = create_engine(database_urls["votes"])
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    sessionmaker = create_sessionmaker(engine)

    async def claim(last: datetime | None, now: datetime) -> None:
        async with sessionmaker() as session, session.begin():
            await throttle.claim_slot(
                session, _Row, _Row.id == "r", stamp=_Row.last_at, counter=_Row.times,
                last=last, now=now, interval_hours=6, too_soon=_TooSoon,
            )

    try:
        async with sessionmaker() as session, session.begin():
            session.add(_Row(id="r", last_at=None, times=0))
        await claim(None, T)
        # A caller that read the row before that claim finds the slot taken.
        with pytest.raises(_TooSoon) as raced:
            await claim(None, T)
        assert raced.value.next_allowed_at == T + timedelta(hours=6)
        # Within the interval: refused, with when it may happen again.
        with pytest.raises(_TooSoon) as early:
            await claim(T, T + timedelta(hours=5))
        assert early.value.next_allowed_at == T + timedelta(hours=6)
        await claim(T, T + timedelta(hours=6))
        async with sessionmaker() as session:
            row = await session.get(_Row, "r")
            assert row is not None and (row.last_at, row.times) == (T + timedelta(hours=6), 2)
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(_Base.metadata.drop_all)
        await engine.dispose()
