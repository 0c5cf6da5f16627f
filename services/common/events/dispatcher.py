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
3. send: the claimed deliveries are POSTed with Standard Webhooks headers signed with the
   (producer, subscriber) pair's secret and `x-event-source: <producer>`, with a short timeout:
   each subscriber's in batches of up to `events_per_request` to `<url>/batch` (each event
   answered with its own outcome), or one by one;
4. record: every attempt is logged; a 2xx marks the row delivered, anything else schedules the
   next try (`Retry-After` when the receiver sent one, else the schedule) or, after the last
   try, parks it as dead; a delivered or dead row releases the next held one of its key, in
   the same transaction. Redelivery (admin API) puts rows back to pending.

Step 1 lives in `fanout.py`, steps 2-4 in `delivery.py`, the gauges, orphan release and
pruning in `housekeeping.py`; this module holds the configuration and the loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Select, false, select
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from services.common.db import READ_ONLY_OPTION, dialect_name, utcnow
from services.common.events import delivery, fanout, housekeeping
from services.common.events.config import (
    Subscription,
    parse_schedule,
    subscriptions_from_settings,
)
from services.common.events.delivery import Claimed, Outcome
from services.common.events.locks import sqlite_writer
from services.common.events.models import Delivery, OutboxEvent
from services.common.events.outbox import take_events_emitted
from services.common.events.wire import MAX_BATCH_EVENTS

log = logging.getLogger("events.dispatcher")

Clock = Callable[[], datetime]

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
        events_per_request: int = 1,
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
        self.events_per_request = max(1, min(events_per_request, MAX_BATCH_EVENTS))
        # Subscribers whose endpoint has no batch path (404/405): sent one event at a time.
        self._single_only: set[str] = set()
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
            events_per_request=settings.event_events_per_request,
        )
        kwargs.update(overrides)
        return cls(**kwargs)

    def _writer(self) -> contextlib.AbstractAsyncContextManager[None]:
        return sqlite_writer(self._sm.kw.get("bind"))

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.schedule)

    # -- one round ---------------------------------------------------------------------------

    async def _any(self, statement: Select[Any]) -> bool:
        """Whether `statement` finds a row, in a read-only transaction: an idle dispatcher
        polls with reads, and takes SQLite's write lock only when there is work."""
        async with self._sm() as session:
            if dialect_name(session) == "sqlite":
                await session.connection(execution_options={READ_ONLY_OPTION: True})
            return (await session.scalar(statement.limit(1))) is not None

    async def fan_out(self, limit: int = 500) -> int:
        """Creates the delivery rows of events not fanned out yet; returns how many events."""
        if not await self._any(select(OutboxEvent.seq).where(OutboxEvent.fanned_out == false())):
            return 0
        async with self._writer(), self._sm() as session, session.begin():
            return await fanout.fan_out(session, self.subscriptions.values(), self.clock, limit)

    async def claim(self) -> list[Claimed]:
        """Leases up to batch_size due pending deliveries (`FOR UPDATE SKIP LOCKED`)."""
        if not self.subscriptions:
            return []
        now = self.clock()
        due = select(Delivery.id).where(
            Delivery.status == delivery.PENDING,
            Delivery.next_attempt_at <= now,
            Delivery.subscriber.in_(list(self.subscriptions)),
        )
        if not await self._any(due):
            return []
        async with self._writer(), self._sm() as session, session.begin():
            return await delivery.claim(
                session, self.subscriptions, now, self.lease, self.batch_size
            )

    async def send(self, claimed: Claimed) -> Outcome:
        sub = self.subscriptions[claimed.subscriber]
        async with self._send_slots:
            return await delivery.send(
                self._http, sub.url, self._signers[sub.name], self.service, claimed, self.timeout
            )

    async def send_all(self, claimed: Sequence[Claimed]) -> list[Outcome]:
        """Sends a round's claimed deliveries: per subscriber in batches of up to
        `events_per_request` events and MAX_BATCH_BYTES, or one by one."""
        batches = [
            batch
            for name in {c.subscriber for c in claimed}
            for batch in _batches(
                [c for c in claimed if c.subscriber == name],
                1 if name in self._single_only else self.events_per_request,
            )
        ]
        results = await asyncio.gather(*(self._send_batch(b) for b in batches))
        return [o for outcomes in results for o in outcomes]

    async def _send_batch(self, batch: Sequence[Claimed]) -> list[Outcome]:
        if len(batch) == 1:
            return [await self.send(batch[0])]
        sub = self.subscriptions[batch[0].subscriber]
        async with self._send_slots:
            outcomes = await delivery.send_batch(
                self._http, sub.url, self._signers[sub.name], self.service, batch,
                max(self.timeout, BATCH_TIMEOUT_SECONDS),
            )
        if outcomes[0].status_code in (404, 405):
            # An endpoint without the batch path (a subscriber of an older version): singles.
            self._single_only.add(sub.name)
            return list(await asyncio.gather(*(self.send(c) for c in batch)))
        return outcomes

    async def record(self, outcomes: Sequence[Outcome]) -> None:
        """Writes a batch's outcomes in one transaction (two executemany statements)."""
        now = self.clock()
        recorded = delivery.outcome_rows(outcomes, now, self.schedule, self.service)
        if not recorded.rows:
            return
        async with self._writer(), self._sm() as session, session.begin():
            await delivery.record(await session.connection(), recorded, now)

    async def run_once(self) -> int:
        """One round; returns how much work it found (0: idle)."""
        fanned = await self.fan_out()
        claimed = await self.claim()
        if claimed:
            await self.record(await self.send_all(claimed))
        return fanned + len(claimed)

    async def drain(self, max_rounds: int = 10_000) -> None:
        """Runs rounds until nothing is due now (tests, tools)."""
        for _ in range(max_rounds):
            if not await self.run_once():
                return

    # -- housekeeping ------------------------------------------------------------------------

    async def refresh_gauges(self) -> None:
        async with self._sm() as session:
            await housekeeping.refresh_gauges(session, self.service, self.subscriptions)

    async def release_orphans(self) -> int:
        """Safety net: a key with held deliveries but none pending (say, after an operator
        moved rows by hand) gets its earliest held one released. Normally finds nothing."""
        async with self._sm() as session:
            orphans = await housekeeping.orphaned_keys(session)
        if not orphans:
            return 0
        now = self.clock()
        async with self._writer(), self._sm() as session, session.begin():
            conn = await session.connection()
            await fanout.lock_against_fan_out(conn)
            await fanout.release_next(conn, orphans, now)
        return len(orphans)

    async def prune(self) -> int:
        """Deletes events whose every delivery succeeded more than the retention ago (their
        deliveries and attempts go with them), and inbox entries older than the retention."""
        cutoff = self.clock() - self.retention
        async with self._writer(), self._sm() as session, session.begin():
            return await housekeeping.prune(session, cutoff)

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


# A batch's body stays well under a receiver's JSON body limit (1 MB by default); an event
# larger than this goes alone.
MAX_BATCH_BYTES = 512 * 1024
# A batch's request may take longer than one event's: its events commit together.
BATCH_TIMEOUT_SECONDS = 10.0


def _batches(claimed: Sequence[Claimed], size: int) -> list[list[Claimed]]:
    out: list[list[Claimed]] = []
    current: list[Claimed] = []
    current_bytes = 0
    for c in claimed:
        if current and (len(current) >= size or current_bytes + len(c.body) > MAX_BATCH_BYTES):
            out.append(current)
            current, current_bytes = [], 0
        current.append(c)
        current_bytes += len(c.body) + 1
    if current:
        out.append(current)
    return out
