"""Replica backfill: a consumer that starts empty pulls a producer's paged snapshot, then
follows events, without missing or regressing anything that changed during the pull.

Producer side (the contract): a service registers one snapshot function per stream,

    snapshots = Snapshots()

    @snapshots.stream("rooms")
    async def rooms(session, cursor: str | None, limit: int) -> SnapshotPage: ...

and passes `snapshots=` to `create_service_app`. Each item is an event as the stream's live
events would carry it: `SnapshotItem(type="identity.room.upserted", payload={...},
ordering_key=room_id)`; `next_cursor` is opaque (None on the last page). The app serves
`GET /internal/snapshot/{stream}?cursor=&limit=` (limit ≤ 500), answering
`{"stream", "items": [{"type", "ordering_key", "data"}], "next_cursor"}`. Requests are
service-to-service: header `x-event-subscriber: <consumer name>` plus Standard Webhooks headers
signed with the (producer, consumer) pair's `whsec_` secret (the one the producer signs its
deliveries to that consumer with) over the canonical text
`GET /internal/snapshot/{stream}?cursor={cursor}&limit={limit}`; only a configured subscriber
of the producer may pull.

Consumer side: `await backfill(...)`, or `create_service_app(..., backfill_from={"identity":
["communities", "rooms", ...]})` which runs it in the background at start-up (retrying
until the producer answers) once per stream: progress is kept in `event_backfills`, so a
crash resumes at the last applied page and a finished stream is not pulled again.

Why nothing is missed: the subscription exists before the pull starts (it is configuration),
so every change during and after the pull is delivered as an event. Why nothing regresses:
each snapshot item is applied through the same handlers as the live event, inside a
transaction that first takes the entity's lock (`lock_entity`) and skips the item when an
event with the same ordering key from that producer is already in the inbox — that event
is at least as new as anything applied by a snapshot read before it, and every later change
arrives as a later event. Streams must therefore carry an entity's full state (or its removal)
in each event, keyed by the entity id, which docs/events.md's types do.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, FastAPI, Query, Request
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.db import utcnow
from services.common.errors import NotFound, ServiceUnavailable
from services.common.events.config import secret_for, subscriptions_from_settings
from services.common.events.handlers import EventHandlers, ReceivedEvent
from services.common.events.models import Backfill, InboxEntry
from services.common.events.receiver import lock_entity
from services.common.events.wire import (
    EventTypeNotOwned,
    InvalidWebhook,
    event_owner,
    sign_headers,
    verify_signed,
)
from services.common.settings import service_url

log = logging.getLogger("events.backfill")

MAX_PAGE = 500


@dataclass(frozen=True)
class SnapshotItem:
    type: str
    payload: dict[str, Any]
    ordering_key: str | None = None


@dataclass(frozen=True)
class SnapshotPage:
    items: list[SnapshotItem]
    next_cursor: str | None = None


SnapshotFn = Callable[[AsyncSession, str | None, int], Awaitable[SnapshotPage]]


@dataclass
class Snapshots:
    """The producer's registry of snapshot streams."""

    streams: dict[str, SnapshotFn] = field(default_factory=dict)

    def stream(self, name: str) -> Callable[[SnapshotFn], SnapshotFn]:
        def register(fn: SnapshotFn) -> SnapshotFn:
            self.streams[name] = fn
            return fn

        return register


def canonical_request(stream: str, cursor: str | None, limit: int) -> bytes:
    return f"GET /internal/snapshot/{stream}?cursor={cursor or ''}&limit={limit}".encode()


class UnknownStream(NotFound):
    code = "snapshot_stream_not_found"
    message = "快照数据流不存在"


router = APIRouter(include_in_schema=False)


@router.get("/internal/snapshot/{stream}")
async def snapshot_page(
    stream: str,
    request: Request,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
) -> dict[str, Any]:
    app = request.app
    subscriber = request.headers.get("x-event-subscriber", "")
    subs = {s.name: s for s in subscriptions_from_settings(app.state.settings)}
    if subscriber not in subs:
        raise InvalidWebhook()
    verify_signed(subs[subscriber].secret, canonical_request(stream, cursor, limit), request.headers)
    registry: Snapshots | None = app.state.snapshots
    fn = registry.streams.get(stream) if registry else None
    if fn is None:
        raise UnknownStream()
    async with app.state.sessionmaker() as session:
        page = await fn(session, cursor or None, limit)
    return {
        "stream": stream,
        "items": [
            {"type": i.type, "ordering_key": i.ordering_key, "data": i.payload} for i in page.items
        ],
        "next_cursor": page.next_cursor,
    }


async def fetch_page(
    http: httpx.AsyncClient,
    producer_url: str,
    stream: str,
    cursor: str | None,
    *,
    subscriber: str,
    secret: str,
    limit: int = 200,
) -> SnapshotPage:
    headers = sign_headers(
        secret, "snap_" + secrets.token_hex(12), canonical_request(stream, cursor, limit)
    )
    headers["x-event-subscriber"] = subscriber
    params: dict[str, Any] = {"limit": limit}
    if cursor:
        params["cursor"] = cursor
    response = await http.get(
        f"{producer_url}/internal/snapshot/{stream}", params=params, headers=headers, timeout=10.0
    )
    response.raise_for_status()
    doc = response.json()
    return SnapshotPage(
        items=[
            SnapshotItem(type=i["type"], payload=i["data"], ordering_key=i.get("ordering_key"))
            for i in doc["items"]
        ],
        next_cursor=doc.get("next_cursor"),
    )


async def backfill(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    handlers: EventHandlers,
    http: httpx.AsyncClient,
    producer: str,
    stream: str,
    subscriber: str,
    secret: str,
    producer_url: str | None = None,
    page_size: int = 200,
) -> int:
    """Pulls one stream to its end (resuming where a previous run stopped); returns the
    number of items applied (skipped ones excluded). A finished stream is not pulled again."""
    base = producer_url or service_url(producer)
    async with sessionmaker() as session, session.begin():
        state = await session.get(Backfill, (producer, stream))
        if state is None:
            state = Backfill(producer=producer, stream=stream, items=0, started_at=utcnow())
            session.add(state)
        if state.completed_at is not None:
            return 0
        cursor = state.cursor
    applied = 0
    while True:
        page = await fetch_page(
            http, base, stream, cursor, subscriber=subscriber, secret=secret, limit=page_size
        )
        async with sessionmaker() as session, session.begin():
            for n, item in enumerate(page.items):
                # As for deliveries: a producer's snapshot carries only the types it owns.
                if event_owner(item.type) != producer:
                    raise EventTypeNotOwned(details={"source": producer, "type": item.type})
                await lock_entity(session, item.ordering_key)
                if item.ordering_key is not None:
                    seen = await session.scalar(
                        select(
                            exists().where(
                                InboxEntry.ordering_key == item.ordering_key,
                                InboxEntry.type.startswith(producer + "."),
                            )
                        )
                    )
                    if seen:
                        continue
                event_id = f"snapshot:{producer}:{stream}:{cursor or ''}:{n}"
                await handlers.handle(
                    session, ReceivedEvent(id=event_id, type=item.type, payload=item.payload)
                )
                applied += 1
            state = await session.get(Backfill, (producer, stream))
            assert state is not None
            state.cursor = page.next_cursor
            state.items += len(page.items)
            if page.next_cursor is None:
                state.completed_at = utcnow()
        if page.next_cursor is None:
            return applied
        cursor = page.next_cursor


def backfill_hook(
    sources: dict[str, Sequence[str]], *, retry_max_seconds: float = 30.0
) -> Callable[[FastAPI], Awaitable[Callable[[], Awaitable[None]] | None]]:
    """A start-up hook that backfills `{producer: [stream, ...]}` in the background."""

    async def start(app: FastAPI) -> Callable[[], Awaitable[None]] | None:
        settings = app.state.settings
        if not getattr(settings, "events_backfill_enabled", True):
            return None

        async def run() -> None:
            for producer, streams in sources.items():
                for stream in streams:
                    delay = 1.0
                    while True:
                        try:
                            n = await backfill(
                                sessionmaker=app.state.sessionmaker,
                                handlers=app.state.event_handlers,
                                http=app.state.http,
                                producer=producer,
                                stream=stream,
                                subscriber=settings.service_name,
                                secret=secret_for(producer, settings.service_name),
                            )
                            if n:
                                log.info("backfilled", extra={"stream": stream, "items": n})
                            break
                        except (httpx.HTTPError, ServiceUnavailable, KeyError, ValueError) as exc:
                            log.warning(
                                "backfill failed, will retry",
                                extra={"stream": stream, "error": type(exc).__name__},
                            )
                            await asyncio.sleep(delay)
                            delay = min(delay * 2, retry_max_seconds)

        task = asyncio.create_task(run())
        app.state.backfill_task = task

        async def stop() -> None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        return stop

    return start
