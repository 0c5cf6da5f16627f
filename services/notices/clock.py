"""The service's clock: the scheduler, quiet hours and pushes ask it the time, so tests can
set it."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.common.db import utcnow


class Clock:
    """Wall-clock UTC time; `set()` freezes it at a moment and `advance()` moves it on."""

    def __init__(self) -> None:
        self._fixed: datetime | None = None

    def now(self) -> datetime:
        return self._fixed if self._fixed is not None else utcnow()

    def set(self, moment: datetime | None) -> None:
        if moment is not None and moment.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._fixed = moment

    def advance(self, delta: timedelta) -> None:
        self._fixed = self.now() + delta
