"""The one clock every service asks the time: real UTC time in production, settable in tests.

A service keeps one `Clock` in `app.state.clock` and reads it through the `Now` dependency, so
schedulers, SLA clocks, quiet hours and tests all agree on what time it is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request

from services.common.db import utcnow


class Clock:
    """`now()` is the wall clock until a time is `set`; from then on it moves only by
    `advance`. `set(None)` returns it to the wall clock."""

    def __init__(self, fixed: datetime | None = None) -> None:
        self._fixed: datetime | None = None
        self.set(fixed)

    def now(self) -> datetime:
        return self._fixed if self._fixed is not None else utcnow()

    def set(self, moment: datetime | None) -> None:
        if moment is not None and moment.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._fixed = moment

    def advance(self, delta: timedelta | None = None, **parts: float) -> None:
        """Move a set clock on (`advance(timedelta(minutes=5))` or `advance(minutes=5)`)."""
        self._fixed = self.now() + (delta or timedelta()) + timedelta(**parts)


def clock_of(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def _now(request: Request) -> datetime:  # async: no threadpool hop per request
    return clock_of(request).now()


Now = Annotated[datetime, Depends(_now)]
