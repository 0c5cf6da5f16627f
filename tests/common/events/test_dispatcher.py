"""The producer side: transactional emit, fan-out, signed delivery, retries with a controllable
clock, Retry-After, dead parking, redelivery through the admin API, per-key order, leases,
pruning, metrics, and two dispatchers side by side on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.common.db import create_engine, create_sessionmaker
from services.common.events import emit
from services.common.events.config import Subscription
from services.common.events.dispatcher import Dispatcher
from services.common.events.models import (
    Delivery,
    DeliveryAttempt,
    InboxEntry,
    OutboxEvent,
)
from services.common.events.wire import SOURCE_HEADER, verify_signed
from services.common.identity_replica.models import ReplicaCommunity
from tests.support import (
    TEST_DATABASE_URL,
    WEBHOOK_SECRETS,
    admin_token,
    auth,
    client_for,
    running_app,
    token,
)

SUB = Subscription(
    name="repairs", url="http://repairs.test/events", types=("identity.*",),
    secret=WEBHOOK_SECRETS[("identity", "repairs")],
)


class FakeClock:
    def __init__(self) -> None:
        self.t = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


class Endpoint:
    """A subscriber endpoint that verifies signatures and answers from a script."""

    def __init__(self, script: Callable[[dict[str, Any], int], httpx.Response | Exception]) -> None:
        self.script = script
        self.received: list[dict[str, Any]] = []
        self.calls = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.content
        verify_signed(WEBHOOK_SECRETS[("identity", "repairs")], body, request.headers)
        # Names its producer, which picks the receiver's pair secret.
        assert request.headers[SOURCE_HEADER] == "identity"
        doc = json.loads(body)
        self.calls += 1
        answer = self.script(doc, self.calls)
        if isinstance(answer, Exception):
            raise answer
        if 200 <= answer.status_code < 300:
            self.received.append(doc)
        return answer


def dispatcher(sm: async_sessionmaker[Any], endpoint: Any, clock: FakeClock | None = None,
               **kw: Any) -> Dispatcher:
    http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))
    kw.setdefault("schedule", [timedelta(seconds=s) for s in (10, 20, 30)])
    return Dispatcher(
        service="identity", sessionmaker=sm, http=http, subscriptions=[SUB],
        clock=clock or FakeClock(), **kw,
    )


async def emit_many(sm: async_sessionmaker[Any], items: list[tuple[str, str | None]]) -> list[str]:
    """Emits `identity.test.ping` events (n, ordering key) in one transaction."""
    async with sm() as session:
        ids = [
            emit(session, "identity.test.ping", {"n": n, "community_id": "c1"}, ordering_key=key).id
            for n, key in items
        ]
        await session.commit()
    return ids


@pytest.fixture
async def identity(database_urls: dict[str, str]) -> Any:
    async with running_app("identity", database_urls["identity"]) as app:
        yield app


async def delivery_rows(sm: async_sessionmaker[Any]) -> list[Delivery]:
    async with sm() as s:
        return list((await s.scalars(select(Delivery).order_by(Delivery.id))).all())


async def test_emit_is_part_of_the_callers_transaction(identity: Any) -> None:
    sm = identity.state.sessionmaker
    async with sm() as session:
        emit(session, "identity.community.created", {"community_id": "c1", "name": "a"})
        await session.rollback()
    async with sm() as session:
        emit(session, "identity.community.created", {"community_id": "c2", "name": "b"})
        await session.commit()
    async with sm() as session:
        rows = (await session.scalars(select(OutboxEvent))).all()
    assert [r.community_id for r in rows] == ["c2"]
    with pytest.raises(ValueError):
        emit(session, "Bad Type", {})


async def test_delivers_signed_to_the_real_receiver(identity: Any, database_urls: dict[str, str]) -> None:
    async with running_app("repairs", database_urls["repairs"]) as repairs:
        transport = httpx.ASGITransport(app=repairs)
        d = Dispatcher(
            service="identity", sessionmaker=identity.state.sessionmaker,
            http=httpx.AsyncClient(transport=transport), subscriptions=[SUB],
        )
        cid = str(uuid.uuid4())
        async with identity.state.sessionmaker() as session:
            emit(session, "identity.community.created", {"community_id": cid, "name": "幸福里"},
                 ordering_key=cid)
            emit(session, "repairs.ticket.created", {"community_id": cid})  # not subscribed
            await session.commit()
        await d.drain()
        async with repairs.state.sessionmaker() as s:
            assert (await s.get(ReplicaCommunity, cid)).name == "幸福里"
        [row] = await delivery_rows(identity.state.sessionmaker)
        assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
        # A redelivery of a delivered event reaches the receiver, which acknowledges a duplicate.
        async with identity.state.sessionmaker() as s:
            await s.execute(update(Delivery).values(status="pending", next_attempt_at=datetime.now(UTC)))
            await s.commit()
        await d.drain()
        async with repairs.state.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(InboxEntry)) == 1


async def test_retries_follow_the_schedule_and_retry_after(identity: Any) -> None:
    def script(doc: dict[str, Any], call: int) -> httpx.Response | Exception:
        if call == 1:
            return httpx.Response(500, text="boom")
        if call == 2:
            return httpx.Response(503, headers={"Retry-After": "120"})
        if call == 3:
            return httpx.ConnectError("refused")
        return httpx.Response(204)

    clock = FakeClock()
    endpoint = Endpoint(script)
    d = dispatcher(identity.state.sessionmaker, endpoint, clock)
    await emit_many(identity.state.sessionmaker, [(1, "k")])
    start = clock()

    async def state() -> Delivery:
        [row] = await delivery_rows(identity.state.sessionmaker)
        return row

    await d.drain()
    row = await state()
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)
    assert row.next_attempt_at == start + timedelta(seconds=10)
    clock.advance(9)
    await d.drain()
    assert endpoint.calls == 1  # not due yet
    clock.advance(1)
    await d.drain()
    row = await state()
    assert (row.attempts, row.last_status_code) == (2, 503)
    assert row.next_attempt_at == clock() + timedelta(seconds=120)  # Retry-After, not 20 s
    clock.advance(120)
    await d.drain()
    row = await state()
    assert row.attempts == 3 and row.last_status_code is None and "ConnectError" in row.last_error
    assert row.next_attempt_at == clock() + timedelta(seconds=30)
    clock.advance(30)
    await d.drain()
    row = await state()
    assert (row.status, row.attempts) == ("delivered", 4)
    assert [doc["data"]["n"] for doc in endpoint.received] == [1]
    async with identity.state.sessionmaker() as s:
        attempts = (await s.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id))).all()
    assert [a.status_code for a in attempts] == [500, 503, None, 204]


async def test_dead_after_last_try_then_redelivered_through_admin_api(identity: Any) -> None:
    healthy = False

    def script(doc: dict[str, Any], call: int) -> httpx.Response:
        return httpx.Response(200) if healthy else httpx.Response(500)

    clock = FakeClock()
    endpoint = Endpoint(script)
    d = dispatcher(identity.state.sessionmaker, endpoint, clock, schedule=[timedelta(seconds=1)] * 2)
    await emit_many(identity.state.sessionmaker, [(1, None), (2, None), (3, None)])
    for _ in range(3):
        await d.drain()
        clock.advance(1)
    await d.drain()
    rows = await delivery_rows(identity.state.sessionmaker)
    assert [(r.status, r.attempts) for r in rows] == [("dead", 3)] * 3
    assert endpoint.calls == 9

    async with client_for(identity) as client:
        r = await client.get("/admin/events/deliveries?status=dead&limit=2", headers=auth(admin_token()))
        assert r.status_code == 200
        page = r.json()
        assert len(page["items"]) == 2 and page["next_cursor"]
        r = await client.get(
            f"/admin/events/deliveries?status=dead&cursor={page['next_cursor']}",
            headers=auth(admin_token()),
        )
        assert [i["id"] for i in r.json()["items"]] == [rows[2].id]
        assert (await client.get("/admin/events/deliveries", headers=auth(token()))).status_code == 403
        assert (await client.get("/admin/events/deliveries")).status_code == 401
        detail = (await client.get(f"/admin/events/deliveries/{rows[0].id}", headers=auth(admin_token()))).json()
        assert [a["status_code"] for a in detail["attempts_log"]] == [500, 500, 500]
        healthy = True
        r = await client.post(f"/admin/events/deliveries/{rows[0].id}/redeliver", headers=auth(admin_token()))
        assert r.status_code == 200 and r.json()["status"] == "pending"
        assert (await client.post("/admin/events/deliveries/999999/redeliver",
                                  headers=auth(admin_token()))).status_code == 404
        clock.advance(1)
        await d.drain()
        rows = await delivery_rows(identity.state.sessionmaker)
        assert [r.status for r in rows] == ["delivered", "dead", "dead"]
        r = await client.post("/admin/events/redeliver?status=dead", headers=auth(admin_token()))
        assert r.json() == {"count": 2}
        await d.drain()
        summary = (await client.get("/admin/events/summary", headers=auth(admin_token()))).json()
        assert summary == [{"subscriber": "repairs", "status": "delivered", "count": 3}]
    assert sorted(doc["data"]["n"] for doc in endpoint.received) == [1, 2, 3]


async def test_per_key_order_is_kept_while_other_keys_flow(identity: Any) -> None:
    failed_once: set[int] = set()

    def script(doc: dict[str, Any], call: int) -> httpx.Response:
        n = doc["data"]["n"]
        if n == 1 and n not in failed_once:
            failed_once.add(n)
            return httpx.Response(500)
        return httpx.Response(200)

    clock = FakeClock()
    endpoint = Endpoint(script)
    d = dispatcher(identity.state.sessionmaker, endpoint, clock)
    await emit_many(identity.state.sessionmaker, [(1, "A"), (2, "A"), (3, "B"), (4, "A"), (5, None)])
    await d.drain()
    # A's first event failed: A's later ones wait; B and the unkeyed one went through.
    assert [doc["data"]["n"] for doc in endpoint.received] == [3, 5]
    clock.advance(10)
    await d.drain()
    assert [doc["data"]["n"] for doc in endpoint.received] == [3, 5, 1, 2, 4]


async def test_a_dispatcher_killed_mid_send_loses_nothing(identity: Any) -> None:
    clock = FakeClock()
    endpoint = Endpoint(lambda doc, call: httpx.Response(200))
    d = dispatcher(identity.state.sessionmaker, endpoint, clock, lease_seconds=30)
    await emit_many(identity.state.sessionmaker, [(1, "A"), (2, "A")])
    await d.fan_out()
    claimed = await d.claim()  # ... and the process dies before sending
    assert [c.event_id for c in claimed] and endpoint.calls == 0
    await d.drain()
    assert endpoint.calls == 0  # leased: nobody else sends it, and A's next one waits
    clock.advance(31)
    await d.drain()
    assert [doc["data"]["n"] for doc in endpoint.received] == [1, 2]


async def test_prune_removes_old_delivered_events_only(identity: Any) -> None:
    clock = FakeClock()
    answers = iter([httpx.Response(200), httpx.Response(500)])
    d = dispatcher(identity.state.sessionmaker, Endpoint(lambda doc, call: next(answers)), clock,
                   retention_days=7, batch_size=1)
    await emit_many(identity.state.sessionmaker, [(1, None)])
    await emit_many(identity.state.sessionmaker, [(2, None)])
    await d.drain()
    async with identity.state.sessionmaker() as s:
        s.add(InboxEntry(webhook_id="evt_old", type="x.y.z", received_at=clock() - timedelta(days=8)))
        await s.execute(update(OutboxEvent).values(created_at=clock() - timedelta(days=9)))
        await s.commit()
    assert await d.prune() == 0  # delivered only just now
    clock.advance(8 * 86400)
    assert await d.prune() == 1
    async with identity.state.sessionmaker() as s:
        left = (await s.scalars(select(OutboxEvent))).all()
        assert [e.payload["n"] for e in left] == [2]  # the undelivered one stays
        assert await s.scalar(select(func.count()).select_from(DeliveryAttempt)) == 1
        assert await s.get(InboxEntry, "evt_old") is None


async def test_metrics_and_lifespan_dispatcher(database_urls: dict[str, str]) -> None:
    # Wired by create_service_app: the dispatcher runs in the lifespan and reports metrics.
    subs = json.dumps([{"name": "repairs", "url": "http://127.0.0.1:9/events",
                        "types": ["identity.*"]}])
    async with running_app(
        "identity", database_urls["identity"], events_dispatcher_enabled=True,
        event_subscriptions=subs, event_retry_schedule="60",
    ) as app:
        assert app.state.dispatcher is not None
        await emit_many(app.state.sessionmaker, [(1, None)])
        for _ in range(100):
            rows = await delivery_rows(app.state.sessionmaker)
            if rows and rows[0].attempts:
                break
            await asyncio.sleep(0.05)
        assert rows[0].status == "pending" and "ConnectError" in (rows[0].last_error or "")
        await app.state.dispatcher.refresh_gauges()
        async with client_for(app) as client:
            text = (await client.get("/metrics")).text
        assert 'events_deliveries_pending{service="identity",subscriber="repairs"} 1.0' in text
        assert 'events_delivery_attempts_total{outcome="retry",service="identity",subscriber="repairs"}' in text


@pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="FOR UPDATE SKIP LOCKED needs PostgreSQL; SQLite runs one dispatcher"
)
async def test_two_dispatchers_side_by_side_never_send_a_row_twice(database_urls: dict[str, str]) -> None:
    url = database_urls["identity"]
    seen: dict[str, int] = {}
    by: dict[str, int] = {"a": 0, "b": 0}
    order: dict[str, list[int]] = {}

    def endpoint_for(name: str) -> Any:
        async def handle(request: httpx.Request) -> httpx.Response:
            wid = request.headers["webhook-id"]
            seen[wid] = seen.get(wid, 0) + 1
            by[name] += 1
            doc = json.loads(request.content)
            order.setdefault(doc["ordering_key"], []).append(doc["data"]["n"])
            await asyncio.sleep(0.002)
            return httpx.Response(200)
        return handle

    engines = [create_engine(url), create_engine(url)]
    try:
        sm_a, sm_b = (create_sessionmaker(e) for e in engines)
        ids = await emit_many(sm_a, [(n, f"k{n % 40}") for n in range(400)])
        a = dispatcher(sm_a, endpoint_for("a"), batch_size=25, schedule=[])
        b = dispatcher(sm_b, endpoint_for("b"), batch_size=25, schedule=[])
        a.clock = b.clock = lambda: datetime.now(UTC)
        await a.fan_out()

        async def run(d: Dispatcher) -> None:
            # Until every row is delivered (a round finding nothing due may just have lost
            # the race to the other dispatcher).
            while any(r.status != "delivered" for r in await delivery_rows(sm_a)):
                if not await d.run_once():
                    await asyncio.sleep(0.005)

        await asyncio.wait_for(asyncio.gather(run(a), run(b)), 60)
        assert sorted(seen) == sorted(ids)
        assert set(seen.values()) == {1}  # no row sent twice
        assert by["a"] > 0 and by["b"] > 0
        # Per-key order holds across the two dispatchers.
        assert all(ns == sorted(ns) for ns in order.values()) and len(order) == 40
        rows = await delivery_rows(sm_a)
        assert {r.status for r in rows} == {"delivered"} and len(rows) == 400
    finally:
        for e in engines:
            await e.dispose()


def test_retry_after_header_forms() -> None:
    from services.common.events.delivery import parse_retry_after

    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == timedelta(seconds=120)
    assert parse_retry_after("Wed, 25 Nov 2026 08:05:00 GMT", now) == timedelta(minutes=5)
    assert parse_retry_after("Wed, 25 Nov 2026 07:00:00 GMT", now) == timedelta(0)
    assert parse_retry_after("999999999", now) == timedelta(days=1)  # capped
    for junk in (None, "", "soon", "-5", "nan"):
        assert parse_retry_after(junk, now) is None


async def test_held_rows_are_released_in_order_and_orphans_recovered(identity: Any) -> None:
    clock = FakeClock()
    endpoint = Endpoint(lambda doc, call: httpx.Response(200))
    d = dispatcher(identity.state.sessionmaker, endpoint, clock)
    await emit_many(identity.state.sessionmaker, [(1, "A"), (2, "A"), (3, "A")])
    await d.fan_out()
    assert [r.status for r in await delivery_rows(identity.state.sessionmaker)] == [
        "pending", "held", "held"
    ]
    async with client_for(identity) as client:
        listed = (await client.get("/admin/events/deliveries?status=pending",
                                   headers=auth(admin_token()))).json()["items"]
    assert [i["status"] for i in listed] == ["pending", "held", "held"]
    async with client_for(identity) as client:
        r = await client.post(f"/admin/events/deliveries/{listed[1]['id']}/redeliver",
                              headers=auth(admin_token()))
    assert r.status_code == 409 and r.json()["error"]["code"] == "delivery_held"
    # An operator parks the head by hand: the held ones would wait forever without the sweep.
    async with identity.state.sessionmaker() as s:
        await s.execute(update(Delivery).where(Delivery.status == "pending").values(status="dead"))
        await s.commit()
    assert await d.release_orphans() == 1
    assert await d.release_orphans() == 0
    await d.drain()
    assert [doc["data"]["n"] for doc in endpoint.received] == [2, 3]
