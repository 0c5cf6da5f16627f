"""`POST /events`: the receiving end of every service.

Order of checks (`wire.authenticate_delivery`): a producer this service has a secret for in
`x-event-source` (401) → headers well-formed (400) → timestamp within ±5 minutes (401) →
signature with that (producer, this service) pair's `whsec_` secret (401) → body a JSON
envelope (400) → an event type the producer owns (403: `identity.*` only from identity), so a
secret leaked from one producer cannot forge another's events. Then, in one
transaction: the inbox row keyed by `webhook-id` (a replay finds it and is acknowledged
without running anything), the handlers' changes, commit; only then 2xx. A handler that
raises rolls everything back and answers 500, so the sender retries. A type this service has
no handler for is acknowledged (and recorded in the inbox).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common.db import dialect_name, execute_dml, utcnow
from services.common.errors import DomainError, error_response
from services.common.events import metrics
from services.common.events.config import receiver_secrets  # noqa: F401 (re-exported)
from services.common.events.handlers import EventHandlers, ReceivedEvent
from services.common.events.locks import sqlite_writer
from services.common.events.models import InboxEntry
from services.common.events.wire import (
    EventHandlerFailed,
    authenticate_batch,
    authenticate_delivery,
)

log = logging.getLogger("events.receiver")

router = APIRouter(include_in_schema=False)

async def lock_entity(session: AsyncSession, key: str | None) -> None:
    """Serialises writers of one entity (ordering key) on PostgreSQL for the transaction:
    the receiver and the backfill both take it, so a snapshot item checked against the
    inbox cannot overwrite an event committed meanwhile. SQLite serialises writers anyway."""
    if key and dialect_name(session) == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})


async def apply_event(
    session: AsyncSession,
    handlers: EventHandlers,
    event: ReceivedEvent,
    ordering_key: str | None,
) -> str:
    """Inbox row + handlers in the caller's transaction: "processed", "ignored" or
    "duplicate". The caller commits (and rolls back on an exception)."""
    await lock_entity(session, ordering_key)
    # One statement claims the webhook-id: inserted (new) or not (seen before, or being
    # processed by a concurrent request that this insert waited for).
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    claimed = await execute_dml(
        session,
        insert(InboxEntry.__table__)
        .values(
            webhook_id=event.id, type=event.type, ordering_key=ordering_key, received_at=utcnow()
        )
        .on_conflict_do_nothing(index_elements=["webhook_id"])
    )
    if claimed == 0:
        return "duplicate"
    handled = await handlers.handle(session, event)
    await session.flush()
    return "processed" if handled else "ignored"


class Receipts:
    """Applies received events, each with its inbox row, in committed transactions.

    The events that arrive while one transaction commits are applied together in the next
    one (a group commit: far fewer round trips per event; on SQLite, where one transaction
    writes at a time anyway, it also replaces lock waits). If any handler of a group fails, the group is rolled back and its events are
    applied one by one, so only the failing one is answered 500. Either way an answer is
    given only after the commit that holds the event's inbox row and its handlers' changes.
    """

    MAX_GROUP = 200

    def __init__(
        self, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession],
        handlers: EventHandlers,
    ) -> None:
        self._engine = engine
        self._sm = sessionmaker
        self._handlers = handlers
        self._grouped = True
        self._queue: asyncio.Queue[tuple[ReceivedEvent, str | None, asyncio.Future[str]]] = (
            asyncio.Queue()
        )
        self._worker: asyncio.Task[None] | None = None
        self._group: list[tuple[ReceivedEvent, str | None, asyncio.Future[str]]] = []

    async def apply(self, event: ReceivedEvent, key: str | None) -> str:
        if not self._grouped:
            return await self._apply_alone(event, key)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work())
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((event, key, future))
        return await asyncio.shield(future)

    async def _apply_alone(self, event: ReceivedEvent, key: str | None) -> str:
        async with sqlite_writer(self._engine), self._sm() as session:
            try:
                outcome = await apply_event(session, self._handlers, event, key)
                await session.commit()
            except IntegrityError:
                # The same webhook-id committed concurrently by another request: already done.
                await session.rollback()
                outcome = "duplicate"
        return outcome

    async def _work(self) -> None:
        while True:
            group = self._group = [await self._queue.get()]
            while len(group) < self.MAX_GROUP and not self._queue.empty():
                group.append(self._queue.get_nowait())
            # Entity locks (PostgreSQL) taken in key order: two receiver processes' groups
            # cannot deadlock on them. The sort is stable: one key's events keep their order.
            ordered = sorted(range(len(group)), key=lambda i: group[i][1] or "")
            try:
                async with sqlite_writer(self._engine), self._sm() as session:
                    outcomes_by_index: dict[int, str] = {}
                    for i in ordered:
                        event, key, _ = group[i]
                        outcomes_by_index[i] = await apply_event(session, self._handlers, event, key)
                    await session.commit()
                outcomes = [outcomes_by_index[i] for i in range(len(group))]
            except Exception as exc:
                if len(group) == 1:
                    _settle(group[0][2], exc=exc)
                    continue
                for event, key, future in group:
                    try:
                        _settle(future, await self._apply_alone(event, key))
                    except Exception as one_exc:
                        _settle(future, exc=one_exc)
                continue
            for (_, _, future), outcome in zip(group, outcomes, strict=True):
                _settle(future, outcome)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        # Whatever was not committed is answered as failed: the sender will retry it.
        stopping = RuntimeError("receiver shutting down")
        for _, _, future in self._group:
            _settle(future, exc=stopping)
        while not self._queue.empty():
            _settle(self._queue.get_nowait()[2], exc=stopping)


def _settle(future: asyncio.Future[str], outcome: str = "", exc: BaseException | None = None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(outcome)


@router.post("/events")
async def receive_event(request: Request) -> JSONResponse:
    app = request.app
    service = app.state.settings.service_name
    body = await request.body()
    try:
        _, event, key = authenticate_delivery(app.state.webhook_secrets, body, request.headers)
    except DomainError:
        metrics.EVENTS_RECEIVED.labels(service, "rejected").inc()
        raise
    outcome = await _apply(app, service, event, key)
    if outcome == "failed":
        failed = EventHandlerFailed()
        return error_response(failed.status_code, failed.code, failed.message)
    return JSONResponse({"status": outcome})


@router.post("/events/batch")
async def receive_batch(request: Request) -> JSONResponse:
    """Several events in one signed request (wire.batch_body). Each is applied with its inbox
    row like a single delivery; the answer gives each event's outcome, and the sender retries
    only the `failed` ones. Events of one ordering key never share a batch (the dispatcher
    sends one at a time per key), so the batch's events are independent of each other."""
    app = request.app
    service = app.state.settings.service_name
    body = await request.body()
    try:
        _, events = authenticate_batch(app.state.webhook_secrets, body, request.headers)
    except DomainError:
        metrics.EVENTS_RECEIVED.labels(service, "rejected").inc()
        raise
    outcomes = await asyncio.gather(*(_apply(app, service, e, k) for e, k in events))
    return JSONResponse(
        {"results": [{"id": e.id, "status": o} for (e, _), o in zip(events, outcomes, strict=True)]}
    )


async def _apply(app: Any, service: str, event: ReceivedEvent, key: str | None) -> str:
    """One event through the group commit: its outcome, or "failed" (logged) when a handler
    raised and nothing of it was kept."""
    try:
        outcome: str = await app.state.event_receipts.apply(event, key)
    except Exception:
        log.exception("event handler failed", extra={"webhook_id": event.id, "type": event.type})
        metrics.EVENTS_RECEIVED.labels(service, "failed").inc()
        return "failed"
    metrics.EVENTS_RECEIVED.labels(service, outcome).inc()
    if outcome == "processed" and event.created_at is not None:
        created = event.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        metrics.HANDLED_LATENCY.labels(service).observe(
            max(0.0, (utcnow() - created).total_seconds())
        )
    return outcome
