"""The background worker in the service's lifespan: publishes scheduled notices, hides
expired ones, runs fan-out jobs in batches and sends queued pushes. All its work is in
durable rows, so a restart resumes where it stopped (a push being sent when the process died
is sent again: at least once).

Several instances may share a database: a fan-out job's batch and a batch of pushes are
taken with SKIP LOCKED (PostgreSQL) and pushes are leased while they are sent."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.lease import lease
from services.common.periodic import stop_task
from services.notices import rules
from services.notices.delivery import fanout_step, retry_at
from services.notices.models import FanoutJob, PushConsent, PushMessage
from services.notices.runtime import Runtime
from services.notices.wechat import NO_CONSENT, SendResult
from services.notices.workflow import run_scheduler

log = logging.getLogger("notices.worker")

PUSH_LEASE_SECONDS = 120
_DUE_COLUMNS = ("id", "account_id", "openid", "template_id", "page", "data", "urgent", "attempts")
Due = Row[Any]


class Worker:
    """Runs `tick()` every `worker_interval_seconds` in a task of the app's lifespan."""

    def __init__(self, rt: Runtime, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.rt = rt
        self.sessionmaker = sessionmaker
        # One tick at a time, whether from the loop or a test calling tick() directly.
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> None:
        """Does all the work that is due now. Pushes are sent while the fan-out is still
        writing later batches, so the database and WeChat calls overlap."""
        async with self._lock:
            # Scheduled publishing and hiding: one worker of several (lease.py); the batches
            # below are claimed with SKIP LOCKED and need no lease.
            async with lease(self.sessionmaker.kw["bind"], "notices-scheduler") as mine:
                if mine:
                    async with self.sessionmaker() as session:
                        await run_scheduler(session, self.rt.clock.now())
                        await session.commit()
            fanout_done = asyncio.Event()

            async def fanout() -> None:
                try:
                    while await self._fanout_once():
                        pass
                finally:
                    fanout_done.set()

            async def pushes() -> None:
                while True:
                    if await self._send_due_pushes():
                        continue
                    if fanout_done.is_set():
                        # Nothing due, and nothing more is coming unless the fan-out's
                        # last batch landed after our query: one more look.
                        while await self._send_due_pushes():
                            pass
                        return
                    await asyncio.sleep(0.02)

            # A TaskGroup, so that a failing half cancels the other before the lock is let go.
            async with asyncio.TaskGroup() as group:
                group.create_task(fanout())
                group.create_task(pushes())

    async def _fanout_once(self) -> bool:
        """One batch of the oldest pending fan-out job, committed; False when none is left."""
        async with self.sessionmaker() as session:
            job = await session.scalar(
                select(FanoutJob)
                .where(FanoutJob.status == "pending")
                .order_by(FanoutJob.created_at, FanoutJob.id)
                .limit(1)
                # PostgreSQL: a second instance skips a job whose batch is being written
                # (SQLite serialises writers anyway and ignores this).
                .with_for_update(skip_locked=True)
            )
            if job is None:
                return False
            await fanout_step(session, self.rt, job, self.rt.clock.now())
            await session.commit()
            return True

    async def _send_due_pushes(self) -> bool:
        """Sends one batch of due pushes; False when none was due."""
        now = self.rt.clock.now()
        async with self.sessionmaker() as session:
            # Plain rows, not ORM objects: this runs over thousands of messages per notice.
            due = list(
                (
                    await session.execute(
                        select(*(getattr(PushMessage, c) for c in _DUE_COLUMNS))
                        .where(PushMessage.status == "pending", PushMessage.next_attempt_at <= now)
                        .order_by(PushMessage.next_attempt_at, PushMessage.id)
                        .limit(self.rt.settings.push_batch_size)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
            )
            if due:
                # A lease: while these are being sent, no other worker takes them; if this
                # process dies mid-send they are due again when the lease runs out.
                await session.execute(
                    update(PushMessage.__table__)
                    .where(PushMessage.__table__.c.id.in_([m.id for m in due]))
                    .values(next_attempt_at=now + timedelta(seconds=PUSH_LEASE_SECONDS))
                )
            await session.commit()
        if not due:
            return False
        quiet = self.rt.settings.quiet_hours and rules.in_quiet_hours(now)
        held = [m.id for m in due if quiet and not m.urgent]
        ready = [m for m in due if m.urgent or not quiet]
        results = await self._send_all(ready)
        async with self.sessionmaker() as session:
            if held:
                # Caught by quiet hours between queueing and sending: wait until 07:00.
                await session.execute(
                    update(PushMessage)
                    .where(PushMessage.id.in_(held))
                    .values(next_attempt_at=rules.release_time(now, urgent=False))
                )
            sent = [m.id for m, r in zip(ready, results, strict=True) if r.ok]
            if sent:
                await session.execute(
                    update(PushMessage)
                    .where(PushMessage.id.in_(sent))
                    .values(
                        status="sent", errcode=0, sent_at=now, attempts=PushMessage.attempts + 1
                    )
                )
            for m, r in zip(ready, results, strict=True):
                if not r.ok:
                    await self._record_failure(session, m, r, now)
            await session.commit()
        return True

    async def _send_all(self, messages: list[Due]) -> list[SendResult]:
        wechat = self.rt.wechat
        if wechat is None:
            return [SendResult(None, "no WeChat client") for _ in messages]
        gate = asyncio.Semaphore(self.rt.settings.push_concurrency)

        async def send(m: Due) -> SendResult:
            async with gate:
                return await wechat.send_subscribe(
                    openid=m.openid, template_id=m.template_id, page=m.page, data=m.data
                )

        return list(await asyncio.gather(*(send(m) for m in messages)))

    async def _record_failure(
        self, session: AsyncSession, m: Due, r: SendResult, now: datetime
    ) -> None:
        attempts = m.attempts + 1
        values: dict[str, object] = {"attempts": attempts, "errcode": r.errcode, "error": r.error}
        if not r.retryable:
            # WeChat refused (no consent, bad data, bad openid...): recorded, never retried.
            values["status"] = "refused"
            if r.errcode == NO_CONSENT:
                await session.execute(
                    update(PushConsent)
                    .where(
                        PushConsent.account_id == m.account_id,
                        PushConsent.template_id == m.template_id,
                    )
                    .values(remaining=0)
                )
        elif attempts >= self.rt.settings.push_max_attempts:
            values["status"] = "failed"
        else:
            values["next_attempt_at"] = retry_at(self.rt.settings, attempts, now, m.urgent)
        await session.execute(update(PushMessage).where(PushMessage.id == m.id).values(**values))

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the worker alive; the rows stay for the next tick
                log.exception("notices worker tick failed")
            await asyncio.sleep(self.rt.settings.worker_interval_seconds)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="notices-worker")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
