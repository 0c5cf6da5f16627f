"""The consumer side's registry: which function handles which event type.

A handler runs inside the receiver's unit of work (the inbox row that makes it idempotent is
in the same transaction); it must flush, never commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class ReceivedEvent:
    id: str
    type: str
    payload: dict[str, Any]
    created_at: datetime | None = None

    @property
    def community_id(self) -> str | None:
        cid = self.payload.get("community_id")
        return str(cid) if cid is not None else None


Handler = Callable[[AsyncSession, ReceivedEvent], Awaitable[None]]


class EventHandlers:
    """`handlers.on("identity.room.upserted")` registers a handler; unknown types are ignored."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}

    def on(self, event_type: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._handlers.setdefault(event_type, []).append(fn)
            return fn

        return register

    @property
    def types(self) -> list[str]:
        return sorted(self._handlers)

    def handles(self, event_type: str) -> bool:
        return event_type in self._handlers

    async def handle(self, session: AsyncSession, event: ReceivedEvent) -> bool:
        """Runs the handlers of the event's type; False when the type is not ours."""
        fns = self._handlers.get(event.type)
        if not fns:
            return False
        for fn in fns:
            await fn(session, event)
        return True
