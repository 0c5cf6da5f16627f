"""Claim, send and record: one batch of due deliveries leased, POSTed signed, and its outcomes
written (delivered, retry at the schedule or the receiver's `Retry-After`, or dead)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from standardwebhooks.webhooks import Webhook

from services.common.db import utcnow
from services.common.events import metrics
from services.common.events.fanout import lock_against_fan_out, release_next
from services.common.events.models import (
    DEAD,
    DELIVERED,
    PENDING,
    Delivery,
    DeliveryAttempt,
    OutboxEvent,
)
from services.common.events.wire import (
    SOURCE_HEADER,
    batch_body,
    batch_url,
    envelope,
    sign_headers,
)

MAX_RETRY_AFTER = timedelta(days=1)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """`Retry-After` as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
        if seconds != seconds or seconds < 0:  # NaN or negative
            return None
        delay = timedelta(seconds=min(seconds, MAX_RETRY_AFTER.total_seconds()))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = max(timedelta(0), when - now)
    return min(delay, MAX_RETRY_AFTER)


@dataclass
class Claimed:
    id: int
    event_id: str
    subscriber: str
    ordering_key: str | None
    attempts: int
    claim_token: str
    body: bytes
    created_at: datetime


@dataclass
class Outcome:
    claimed: Claimed
    status_code: int | None
    error: str | None
    retry_after: timedelta | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def claim(
    session: AsyncSession,
    subscribers: Collection[str],
    now: datetime,
    lease: timedelta,
    batch_size: int,
) -> list[Claimed]:
    """Leases up to batch_size due pending deliveries (`FOR UPDATE SKIP LOCKED`), in the
    caller's transaction."""
    token = secrets.token_hex(8)
    query = (
        select(
            Delivery.id,
            Delivery.event_id,
            Delivery.subscriber,
            Delivery.attempts,
            Delivery.ordering_key,
            OutboxEvent.type,
            OutboxEvent.payload,
            OutboxEvent.created_at,
        )
        .join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
        .where(
            Delivery.status == PENDING,
            Delivery.next_attempt_at <= now,
            Delivery.subscriber.in_(list(subscribers)),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True, of=Delivery)
    )
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_([r.id for r in rows]))
        .values(next_attempt_at=now + lease, claim_token=token)
    )
    return [
        Claimed(
            id=r.id,
            event_id=r.event_id,
            subscriber=r.subscriber,
            ordering_key=r.ordering_key,
            attempts=r.attempts,
            claim_token=token,
            body=envelope(r.event_id, r.type, r.created_at, r.payload, r.ordering_key),
            created_at=r.created_at,
        )
        for r in rows
    ]


async def send(
    http: httpx.AsyncClient,
    url: str,
    signer: Webhook,
    producer: str,
    claimed: Claimed,
    timeout: float,
) -> Outcome:
    """POSTs one claimed delivery signed with the pair's secret; never raises for HTTP errors."""
    # The signature's timestamp is wall-clock time: the receiver checks it against its own.
    headers = sign_headers(signer, claimed.event_id, claimed.body)
    headers["content-type"] = "application/json"
    # Which pair secret the receiver verifies with (and which types it accepts from us).
    headers[SOURCE_HEADER] = producer
    start = time.perf_counter()
    status_code: int | None = None
    error: str | None = None
    retry_after: timedelta | None = None
    try:
        response = await http.post(url, content=claimed.body, headers=headers, timeout=timeout)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {response.text[:200]}"
            retry_after = parse_retry_after(response.headers.get("retry-after"), utcnow())
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration_ms = int((time.perf_counter() - start) * 1000)
    return Outcome(claimed, status_code, error, retry_after, duration_ms)


async def send_batch(
    http: httpx.AsyncClient,
    url: str,
    signer: Webhook,
    producer: str,
    batch: Sequence[Claimed],
    timeout: float,
) -> list[Outcome]:
    """POSTs several claimed deliveries of one subscriber as one signed batch; each gets its
    own outcome from the receiver's per-event answer (a request that fails as a whole fails
    each). Never raises for HTTP errors."""
    body = batch_body([c.body for c in batch])
    batch_id = "batch_" + secrets.token_hex(12)
    headers = sign_headers(signer, batch_id, body)
    headers["content-type"] = "application/json"
    headers[SOURCE_HEADER] = producer
    start = time.perf_counter()
    try:
        response = await http.post(batch_url(url), content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        return [Outcome(c, None, error, None, _ms_since(start)) for c in batch]
    duration_ms = _ms_since(start)
    if not 200 <= response.status_code < 300:
        error = f"HTTP {response.status_code}: {response.text[:200]}"
        retry_after = parse_retry_after(response.headers.get("retry-after"), utcnow())
        return [Outcome(c, response.status_code, error, retry_after, duration_ms) for c in batch]
    answered = _batch_results(response)
    outcomes = []
    for c in batch:
        status = answered.get(c.event_id)
        if status in ("processed", "ignored", "duplicate"):
            outcomes.append(Outcome(c, response.status_code, None, None, duration_ms))
        else:
            error = f"batch item {status or 'missing'}"
            outcomes.append(Outcome(c, 500, error, None, duration_ms))
    return outcomes


def _batch_results(response: httpx.Response) -> dict[str, str]:
    try:
        results = response.json().get("results")
        return {str(r["id"]): str(r["status"]) for r in results}
    except (ValueError, AttributeError, KeyError, TypeError):
        return {}


def _ms_since(start: float) -> int:
    return int((time.perf_counter() - start) * 1000)


# Only the holder of the lease writes the outcome: a row whose lease expired and was
# claimed again belongs to the newer claim (its attempt is still logged).
_RECORD = (
    update(Delivery.__table__)
    .where(
        Delivery.__table__.c.id == bindparam("b_id"),
        Delivery.__table__.c.claim_token == bindparam("b_token"),
    )
    .values(
        attempts=bindparam("attempts"),
        last_attempt_at=bindparam("last_attempt_at"),
        last_status_code=bindparam("last_status_code"),
        last_error=bindparam("last_error"),
        status=bindparam("status"),
        delivered_at=bindparam("delivered_at"),
        next_attempt_at=bindparam("next_attempt_at"),
        claim_token=None,
    )
)


@dataclass
class Recorded:
    """The statements' parameters for a batch of outcomes, and the keys it finished."""

    rows: list[dict[str, Any]]
    attempts_log: list[dict[str, Any]]
    finished: list[tuple[str, str]]


def outcome_rows(
    outcomes: Sequence[Outcome],
    now: datetime,
    schedule: Sequence[timedelta],
    producer: str,
) -> Recorded:
    """What each outcome does to its row (delivered, retry or dead), its attempt log line,
    and the (subscriber, key) pairs whose head finished; counts the attempts' metrics."""
    max_attempts = 1 + len(schedule)
    rows: list[dict[str, Any]] = []
    attempts_log: list[dict[str, Any]] = []
    for o in outcomes:
        c = o.claimed
        attempts = c.attempts + 1
        row: dict[str, Any] = {
            "b_id": c.id,
            "b_token": c.claim_token,
            "attempts": attempts,
            "last_attempt_at": now,
            "last_status_code": o.status_code,
            "last_error": o.error,
            "status": PENDING,
            "delivered_at": None,
            "next_attempt_at": now,
        }
        if o.ok:
            row.update(status=DELIVERED, delivered_at=now)
            outcome = "delivered"
        elif attempts >= max_attempts:
            row.update(status=DEAD)
            outcome = "dead"
        else:
            delay = o.retry_after if o.retry_after is not None else schedule[attempts - 1]
            row.update(next_attempt_at=now + delay)
            outcome = "retry"
        rows.append(row)
        attempts_log.append(
            {
                "delivery_id": c.id,
                "attempted_at": now,
                "duration_ms": o.duration_ms,
                "status_code": o.status_code,
                "error": o.error,
            }
        )
        metrics.DELIVERY_ATTEMPTS.labels(producer, c.subscriber, outcome).inc()
        if o.ok:
            metrics.DELIVERY_LATENCY.labels(producer, c.subscriber).observe(
                max(0.0, (utcnow() - c.created_at).total_seconds())
            )
    finished = sorted(
        {
            (o.claimed.subscriber, o.claimed.ordering_key)
            for o, row in zip(outcomes, rows, strict=True)
            if row["status"] != PENDING and o.claimed.ordering_key is not None
        }
    )
    return Recorded(rows, attempts_log, finished)


async def record(conn: AsyncConnection, recorded: Recorded, now: datetime) -> None:
    """Writes a batch's outcomes in the caller's transaction (two executemany statements) and
    releases the next held delivery of each finished key."""
    await lock_against_fan_out(conn)
    await conn.execute(_RECORD, recorded.rows)
    await conn.execute(insert(DeliveryAttempt.__table__), recorded.attempts_log)
    if recorded.finished:
        await release_next(conn, recorded.finished, now)
