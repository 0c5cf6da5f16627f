"""`POST /events`: the receiving end of every service.

Order of checks: headers well-formed (400) → timestamp within ±5 minutes (401) → signature
with this service's `whsec_` secret (401) → body a JSON envelope (400). Then, in one
transaction: the inbox row keyed by `webhook-id` (a replay finds it and is acknowledged
without running anything), the handlers' changes, commit; only then 2xx. A handler that
raises rolls everything back and answers 500, so the sender retries. A type this service has
no handler for is acknowledged (and recorded in the inbox).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from services.common.db import utcnow
from services.common.errors import BadRequest, DomainError, Unauthorized
from services.common.events import metrics
from services.common.events.config import receiver_secret  # noqa: F401 (re-exported)
from services.common.events.handlers import EventHandlers, ReceivedEvent
from services.common.events.locks import sqlite_writer
from services.common.events.models import InboxEntry

log = logging.getLogger("events.receiver")

router = APIRouter(include_in_schema=False)

TOLERANCE = timedelta(minutes=5)
_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_TS_RE = re.compile(r"^[0-9]{1,12}$")


class InvalidWebhook(Unauthorized):
    code = "invalid_webhook_signature"
    message = "事件签名无效"


class StaleWebhook(Unauthorized):
    code = "webhook_timestamp_out_of_range"
    message = "事件时间戳超出允许范围"


class MalformedWebhook(BadRequest):
    code = "malformed_webhook"
    message = "事件格式无效"


async def lock_entity(session: AsyncSession, key: str | None) -> None:
    """Serialises writers of one entity (ordering key) on PostgreSQL for the transaction:
    the receiver and the backfill both take it, so a snapshot item checked against the
    inbox cannot overwrite an event committed meanwhile. SQLite serialises writers anyway."""
    if key and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})


def verify_signed(
    secret: str, body: bytes, headers: Any, *, now: datetime | None = None
) -> str:
    """Checks Standard Webhooks headers of `body`; returns the webhook-id or raises."""
    msg_id = headers.get("webhook-id") or ""
    ts = headers.get("webhook-timestamp") or ""
    sig = headers.get("webhook-signature") or ""
    if not _ID_RE.match(msg_id) or not _TS_RE.match(ts) or not sig or len(sig) > 1024:
        raise MalformedWebhook()
    now = now or datetime.now(UTC)
    sent = datetime.fromtimestamp(int(ts), tz=UTC)
    if abs(now - sent) > TOLERANCE:
        raise StaleWebhook()
    try:
        Webhook(secret).verify(
            body,
            {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": sig},
            json_parse=False,
        )
    except Exception as exc:  # the library raises ValueError/binascii errors on junk too
        raise InvalidWebhook() from exc
    return msg_id


def _parse_envelope(body: bytes, msg_id: str) -> tuple[ReceivedEvent, str | None]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedWebhook("事件内容不是有效的 JSON") from exc
    if not isinstance(doc, dict):
        raise MalformedWebhook()
    type_, data, key = doc.get("type"), doc.get("data"), doc.get("ordering_key")
    if not isinstance(type_, str) or not 0 < len(type_) <= 120 or not isinstance(data, dict):
        raise MalformedWebhook()
    if key is not None and (not isinstance(key, str) or len(key) > 128):
        raise MalformedWebhook()
    created: datetime | None = None
    if isinstance(doc.get("timestamp"), str):
        try:
            created = datetime.fromisoformat(doc["timestamp"])
        except ValueError:
            created = None
    return ReceivedEvent(id=msg_id, type=type_, payload=data, created_at=created), key


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
    dialect = session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(InboxEntry.__table__)
        .values(
            webhook_id=event.id, type=event.type, ordering_key=ordering_key, received_at=utcnow()
        )
        .on_conflict_do_nothing(index_elements=["webhook_id"])
    )
    if result.rowcount == 0:
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

    MAX_GROUP = 100

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
        msg_id = verify_signed(app.state.webhook_secret, body, request.headers)
        event, key = _parse_envelope(body, msg_id)
    except DomainError:
        metrics.EVENTS_RECEIVED.labels(service, "rejected").inc()
        raise
    try:
        outcome = await app.state.event_receipts.apply(event, key)
    except Exception:
        log.exception("event handler failed", extra={"webhook_id": msg_id, "type": event.type})
        metrics.EVENTS_RECEIVED.labels(service, "failed").inc()
        return JSONResponse(
            {"error": {"code": "event_handler_failed", "message": "事件处理失败，请稍后重试",
                       "details": None}},
            status_code=500,
        )
    metrics.EVENTS_RECEIVED.labels(service, outcome).inc()
    if outcome == "processed" and event.created_at is not None:
        created = event.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        metrics.HANDLED_LATENCY.labels(service).observe(
            max(0.0, (utcnow() - created).total_seconds())
        )
    return JSONResponse({"status": outcome})

