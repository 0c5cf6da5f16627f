"""The outbox dispatcher: fans events out to subscribers, delivers them signed, retries.

Runs inside each service's lifespan (`events_dispatcher_enabled`, the default) or as its own
process: `python -m services.common.events --service identity` (`__main__.py`) (then set
`<SVC>_EVENTS_DISPATCHER_ENABLED=false` for the app).

One round:
1. fan-out: events not yet fanned out get one `event_deliveries` row per matching subscription
   (one fan-out at a time: a transaction-scoped advisory lock on PostgreSQL, the write lock
   on SQLite); the first undelivered row of a (subscriber, ordering key) is `pending`, later
   ones are `held`, so each subscriber gets one entity's events in write order;
2. claim: due `pending` rows are selected `FOR UPDATE SKIP LOCKED` on PostgreSQL and leased
   (`next_attempt_at` pushed forward by the lease, `claim_token` set) in a short transaction,
   so several dispatchers never send one row at once and a dispatcher killed mid-send leaves
   rows that become due again by themselves;
3. send: each claimed delivery is POSTed with Standard Webhooks headers signed with the
   (producer, subscriber) pair's secret and `x-event-source: <producer>`, with a short timeout;
4. record: every attempt is logged; a 2xx marks the row delivered, anything else schedules the
   next try (`Retry-After` when the receiver sent one, else the schedule) or, after the last
   try, parks it as dead; a delivered or dead row releases the next held one of its key, in
   the same transaction. Redelivery (admin API) puts rows back to pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from sqlalchemy import bindparam, delete, exists, false, func, insert, select, text, true, update
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from services.common.db import dialect_name, execute_dml, utcnow
from services.common.events import metrics
from services.common.events.config import (
    Subscription,
    parse_schedule,
    subscriptions_from_settings,
)
from services.common.events.locks import sqlite_writer
from services.common.events.models import (
    DEAD,
    DELIVERED,
    HELD,
    PENDING,
    Delivery,
    DeliveryAttempt,
    InboxEntry,
    OutboxEvent,
)
from services.common.events.outbox import take_events_emitted
from services.common.events.wire import SOURCE_HEADER, envelope, sign_headers

log = logging.getLogger("events.dispatcher")

Clock = Callable[[], datetime]

FANOUT_LOCK_KEY = 724_310_001  # pg advisory lock id of the fan-out step
MAX_RETRY_AFTER = timedelta(days=1)

# In-process wake-up: a commit that emitted events nudges the dispatchers of this process,
# so a change is delivered without waiting for the next poll.
_wakers: set[asyncio.Event] = set()


@sa_event.listens_for(Session, "after_commit")
def _wake_dispatchers(session: Session) -> None:
    if take_events_emitted(session):
        for waker in list(_wakers):
            waker.set()


@sa_event.listens_for(Session, "after_rollback")
def _forget_emitted(session: Session) -> None:
    take_events_emitted(session)


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


_d = Delivery.__table__.alias("d")
_p = Delivery.__table__.alias("p")
# The next held delivery of a (subscriber, key) becomes pending, unless one is pending already
# (e.g. a lease taken over by another dispatcher still owns the key's head).
_RELEASE_NEXT = (
    update(Delivery.__table__)
    .where(
        Delivery.__table__.c.id
        == select(_d.c.id)
        .where(
            _d.c.subscriber == bindparam("b_sub"),
            _d.c.ordering_key == bindparam("b_key"),
            _d.c.status == HELD,
        )
        .order_by(_d.c.event_seq)
        .limit(1)
        .scalar_subquery(),
        ~exists().where(
            _p.c.subscriber == bindparam("b_sub"),
            _p.c.ordering_key == bindparam("b_key"),
            _p.c.status == PENDING,
        ),
    )
    .values(status=PENDING, next_attempt_at=bindparam("b_now"))
)


class Dispatcher:
    def __init__(
        self,
        *,
        service: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        subscriptions: Sequence[Subscription],
        schedule: Sequence[timedelta] | None = None,
        timeout_seconds: float = 3.0,
        lease_seconds: float = 30.0,
        batch_size: int = 200,
        poll_interval: float = 0.2,
        retention_days: int = 7,
        workers: int = 2,
        concurrency: int = 8,
        clock: Clock = utcnow,
    ) -> None:
        self.service = service
        self._sm = sessionmaker
        self._http = http
        self.subscriptions = {s.name: s for s in subscriptions}
        self._signers = {s.name: Webhook(s.secret) for s in subscriptions}
        self.schedule = tuple(schedule) if schedule is not None else parse_schedule("")
        self.timeout = timeout_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.retention = timedelta(days=retention_days)
        self.workers = workers
        self._send_slots = asyncio.Semaphore(concurrency)
        self.clock = clock
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        sessionmaker: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        **overrides: Any,
    ) -> Dispatcher:
        kwargs: dict[str, Any] = dict(
            service=settings.service_name,
            sessionmaker=sessionmaker,
            http=http,
            subscriptions=subscriptions_from_settings(settings),
            schedule=parse_schedule(settings.event_retry_schedule),
            timeout_seconds=settings.event_delivery_timeout_seconds,
            lease_seconds=settings.event_lease_seconds,
            batch_size=settings.event_batch_size,
            poll_interval=settings.event_poll_interval_seconds,
            retention_days=settings.event_retention_days,
        )
        kwargs.update(overrides)
        return cls(**kwargs)

    def _writer(self) -> contextlib.AbstractAsyncContextManager[None]:
        return sqlite_writer(self._sm.kw.get("bind"))

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.schedule)

    # -- one round ---------------------------------------------------------------------------

    async def fan_out(self, limit: int = 500) -> int:
        """Creates the delivery rows of events not fanned out yet; returns how many events.

        Per subscriber, the first undelivered event of an ordering key is `pending`; later ones
        of that key are `held` and released one by one as their predecessor finishes."""
        async with self._writer(), self._sm() as session, session.begin():
            if dialect_name(session) == "postgresql":
                # Exclusive against other fan-outs and against `record` (which takes it shared),
                # so a release never misses a held row being inserted concurrently.
                got = await session.scalar(
                    text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": FANOUT_LOCK_KEY}
                )
                if not got:
                    return 0
            rows = (
                await session.execute(
                    select(
                        OutboxEvent.seq, OutboxEvent.id, OutboxEvent.type, OutboxEvent.ordering_key
                    )
                    .where(OutboxEvent.fanned_out == false())
                    .order_by(OutboxEvent.seq)
                    .limit(limit)
                )
            ).all()
            if not rows:
                return 0
            now = self.clock()
            keys = sorted({r.ordering_key for r in rows if r.ordering_key is not None})
            values: list[dict[str, Any]] = []
            for sub in self.subscriptions.values():
                matching = [r for r in rows if sub.matches(r.type)]
                if not matching:
                    continue
                busy: set[str | None] = set()
                if keys:
                    busy = set(
                        (
                            await session.scalars(
                                select(Delivery.ordering_key)
                                .where(
                                    Delivery.subscriber == sub.name,
                                    Delivery.status.in_([PENDING, HELD]),
                                    Delivery.ordering_key.in_(keys),
                                )
                                .distinct()
                            )
                        ).all()
                    )
                for r in matching:
                    held = r.ordering_key is not None and r.ordering_key in busy
                    if r.ordering_key is not None:
                        busy.add(r.ordering_key)
                    values.append(
                        {
                            "event_id": r.id,
                            "event_seq": r.seq,
                            "event_type": r.type,
                            "subscriber": sub.name,
                            "ordering_key": r.ordering_key,
                            "status": HELD if held else PENDING,
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                    )
            if values:
                await session.execute(insert(Delivery), values)
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.seq.in_([r.seq for r in rows]))
                .values(fanned_out=True)
            )
        return len(rows)

    async def claim(self) -> list[Claimed]:
        """Leases up to batch_size due pending deliveries (`FOR UPDATE SKIP LOCKED`)."""
        if not self.subscriptions:
            return []
        now = self.clock()
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
                Delivery.subscriber.in_(list(self.subscriptions)),
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True, of=Delivery)
        )
        async with self._writer(), self._sm() as session, session.begin():
            rows = (await session.execute(query)).all()
            if not rows:
                return []
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_([r.id for r in rows]))
                .values(next_attempt_at=now + self.lease, claim_token=token)
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

    async def send(self, claimed: Claimed) -> Outcome:
        sub = self.subscriptions[claimed.subscriber]
        # The signature's timestamp is wall-clock time: the receiver checks it against its own.
        headers = sign_headers(self._signers[sub.name], claimed.event_id, claimed.body)
        headers["content-type"] = "application/json"
        # Which pair secret the receiver verifies with (and which types it accepts from us).
        headers[SOURCE_HEADER] = self.service
        start = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        retry_after: timedelta | None = None
        async with self._send_slots:
            try:
                response = await self._http.post(
                    sub.url, content=claimed.body, headers=headers, timeout=self.timeout
                )
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}: {response.text[:200]}"
                    retry_after = parse_retry_after(response.headers.get("retry-after"), utcnow())
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
        duration_ms = int((time.perf_counter() - start) * 1000)
        return Outcome(claimed, status_code, error, retry_after, duration_ms)

    async def record(self, outcomes: Sequence[Outcome]) -> None:
        """Writes a batch's outcomes in one transaction (two executemany statements)."""
        now = self.clock()
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
            elif attempts >= self.max_attempts:
                row.update(status=DEAD)
                outcome = "dead"
            else:
                delay = o.retry_after if o.retry_after is not None else self.schedule[attempts - 1]
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
            metrics.DELIVERY_ATTEMPTS.labels(self.service, c.subscriber, outcome).inc()
            if o.ok:
                metrics.DELIVERY_LATENCY.labels(self.service, c.subscriber).observe(
                    max(0.0, (utcnow() - c.created_at).total_seconds())
                )
        if not rows:
            return
        # Only the holder of the lease writes the outcome: a row whose lease expired and was
        # claimed again belongs to the newer claim (its attempt is still logged).
        stmt = (
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
        finished = sorted(
            {
                (o.claimed.subscriber, o.claimed.ordering_key)
                for o, row in zip(outcomes, rows, strict=True)
                if row["status"] != PENDING and o.claimed.ordering_key is not None
            }
        )
        async with self._writer(), self._sm() as session, session.begin():
            conn = await session.connection()
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": FANOUT_LOCK_KEY}
                )
            await conn.execute(stmt, rows)
            await conn.execute(insert(DeliveryAttempt.__table__), attempts_log)
            if finished:
                await conn.execute(
                    _RELEASE_NEXT,
                    [{"b_sub": sub, "b_key": key, "b_now": now} for sub, key in finished],
                )

    async def run_once(self) -> int:
        """One round; returns how much work it found (0: idle)."""
        fanned = await self.fan_out()
        claimed = await self.claim()
        if claimed:
            outcomes = await asyncio.gather(*(self.send(c) for c in claimed))
            await self.record(outcomes)
        return fanned + len(claimed)

    async def drain(self, max_rounds: int = 10_000) -> None:
        """Runs rounds until nothing is due now (tests, tools)."""
        for _ in range(max_rounds):
            if not await self.run_once():
                return

    # -- housekeeping ------------------------------------------------------------------------

    async def refresh_gauges(self) -> None:
        async with self._sm() as session:
            rows = (
                await session.execute(
                    select(Delivery.subscriber, Delivery.status, func.count())
                    .where(Delivery.status.in_([PENDING, HELD, DEAD]))
                    .group_by(Delivery.subscriber, Delivery.status)
                )
            ).all()
        counts: dict[tuple[str, str], int] = {}
        for sub, status, n in rows:
            key = (sub, DEAD if status == DEAD else PENDING)  # held ones are waiting too
            counts[key] = counts.get(key, 0) + int(n)
        for name in self.subscriptions:
            metrics.DELIVERIES_PENDING.labels(self.service, name).set(counts.get((name, PENDING), 0))
            metrics.DELIVERIES_DEAD.labels(self.service, name).set(counts.get((name, DEAD), 0))

    async def release_orphans(self) -> int:
        """Safety net: a key with held deliveries but none pending (say, after an operator
        moved rows by hand) gets its earliest held one released. Normally finds nothing."""
        async with self._sm() as session:
            held = (
                await session.execute(
                    select(Delivery.subscriber, Delivery.ordering_key)
                    .where(Delivery.status == HELD)
                    .distinct()
                )
            ).all()
            if not held:
                return 0
            heads = set(
                (
                    await session.execute(
                        select(Delivery.subscriber, Delivery.ordering_key)
                        .where(Delivery.status == PENDING, Delivery.ordering_key.is_not(None))
                        .distinct()
                    )
                ).all()
            )
        orphans = [(s, k) for s, k in held if (s, k) not in heads]
        if not orphans:
            return 0
        now = self.clock()
        async with self._writer(), self._sm() as session, session.begin():
            conn = await session.connection()
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": FANOUT_LOCK_KEY}
                )
            await conn.execute(
                _RELEASE_NEXT, [{"b_sub": s, "b_key": k, "b_now": now} for s, k in orphans]
            )
        return len(orphans)

    async def prune(self) -> int:
        """Deletes events whose every delivery succeeded more than the retention ago (their
        deliveries and attempts go with them), and inbox entries older than the retention."""
        cutoff = self.clock() - self.retention
        undelivered = exists().where(
            Delivery.event_id == OutboxEvent.id, Delivery.status != DELIVERED
        )
        recent = exists().where(
            Delivery.event_id == OutboxEvent.id, Delivery.delivered_at >= cutoff
        )
        async with self._writer(), self._sm() as session, session.begin():
            pruned = await execute_dml(
                session,
                delete(OutboxEvent)
                .where(
                    OutboxEvent.created_at < cutoff,
                    OutboxEvent.fanned_out == true(),
                    ~undelivered,
                    ~recent,
                )
                .execution_options(synchronize_session=False),
            )
            await session.execute(
                delete(InboxEntry)
                .where(InboxEntry.received_at < cutoff)
                .execution_options(synchronize_session=False)
            )
        return pruned

    # -- running -----------------------------------------------------------------------------

    async def _worker(self) -> None:
        while not self._stop.is_set():
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("dispatcher round failed")
                busy = 0
                await asyncio.sleep(1.0)
            if busy:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            except TimeoutError:
                pass

    async def _housekeeping(self) -> None:
        last_prune = 0.0
        while not self._stop.is_set():
            try:
                await self.refresh_gauges()
                await self.release_orphans()
                if time.monotonic() - last_prune > 600:
                    last_prune = time.monotonic()
                    pruned = await self.prune()
                    if pruned:
                        log.info("pruned delivered events", extra={"count": pruned})
            except Exception:
                log.exception("dispatcher housekeeping failed")
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=5.0)
            except TimeoutError:
                pass

    def start(self) -> None:
        """Starts the workers on the running loop; `stop()` ends them."""
        self._stop.clear()
        _wakers.add(self._wake)
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self.workers)]
        self._tasks.append(asyncio.create_task(self._housekeeping()))

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        _wakers.discard(self._wake)
        try:
            await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), 10)
        except TimeoutError:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
