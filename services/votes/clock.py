"""The service's clock: real time in production, settable in tests (app.state.clock)."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.common.db import utcnow


class Clock:
    """`now()` is the wall clock unless a time was `set`; then it only moves by `advance`."""

    def __init__(self, fixed: datetime | None = None) -> None:
        self._fixed = fixed

    def now(self) -> datetime:
        return self._fixed if self._fixed is not None else utcnow()

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("naive datetime")
        self._fixed = moment

    def advance(self, delta: timedelta) -> None:
        self._fixed = self.now() + delta
