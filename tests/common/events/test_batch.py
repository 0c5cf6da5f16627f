"""Batched delivery: several events in one signed POST to `/events/batch`, each applied with its
inbox row and answered with its own outcome; the dispatcher's batching, its retry of only the
failed items, and its fallback to single deliveries for an endpoint without the batch path."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.common.events import emit
from services.common.events.config import Subscription
from services.common.events.dispatcher import Dispatcher
from services.common.events.models import Delivery, InboxEntry
from services.common.events.wire import SOURCE_HEADER, batch_body, envelope, sign_headers
from tests.common.events.factories import counts
from tests.support import WEBHOOK_SECRETS, assert_error, client_for, running_app

SECRET = WEBHOOK_SECRETS[("identity", "repairs")]
SUB = Subscription(name="repairs", url="http://repairs.test/events", types=("identity.*",), secret=SECRET)


def community_envelope(cid: str | None = None, *, payload: dict[str, Any] | None = None,
                       type_: str = "identity.community.created") -> tuple[str, bytes]:
    cid = cid or str(uuid.uuid4())
    event_id = "evt_" + uuid.uuid4().hex
    data = payload if payload is not None else {"community_id": cid, "name": "小区" + cid[:4]}
    return event_id, envelope(event_id, type_, datetime.now(UTC), data, cid)


async def post_batch(app: Any, bodies: list[bytes], *, source: str = "identity",
                     secret: str = SECRET, raw: bytes | None = None) -> httpx.Response:
    body = raw if raw is not None else batch_body(bodies)
    headers = {**sign_headers(secret, "batch_" + uuid.uuid4().hex, body), SOURCE_HEADER: source,
               "content-type": "application/json"}
    async with client_for(app) as client:
        return await client.post("/events/batch", content=body, headers=headers)



@pytest.fixture
async def repairs(database_urls: dict[str, str]) -> Any:
    async with running_app("repairs", database_urls["repairs"]) as app:
        yield app


@pytest.fixture
async def identity(database_urls: dict[str, str]) -> Any:
    async with running_app("identity", database_urls["identity"]) as app:
        yield app


async def test_a_batch_applies_each_event_once_and_answers_each_outcome(repairs: Any) -> None:
    events = [community_envelope() for _ in range(3)]
    r = await post_batch(repairs, [b for _, b in events])
    assert r.status_code == 200
    assert r.json() == {"results": [{"id": i, "status": "processed"} for i, _ in events]}
    assert await counts(repairs) == (3, 3)
    # A replayed event beside a new one: the replay is acknowledged without running again.
    fresh = community_envelope()
    r = await post_batch(repairs, [events[0][1], fresh[1]])
    assert [x["status"] for x in r.json()["results"]] == ["duplicate", "processed"]
    assert await counts(repairs) == (4, 4)


async def test_a_failing_event_fails_alone_and_keeps_nothing_of_itself(repairs: Any) -> None:
    good = community_envelope()
    broken = community_envelope(payload={"name": "没有 community_id"})
    r = await post_batch(repairs, [good[1], broken[1]])
    assert r.status_code == 200
    assert r.json()["results"] == [{"id": good[0], "status": "processed"},
                                   {"id": broken[0], "status": "failed"}]
    async with repairs.state.sessionmaker() as s:
        assert await s.get(InboxEntry, broken[0]) is None  # so the sender's retry runs it again
        assert await s.get(InboxEntry, good[0]) is not None


async def test_one_event_type_the_producer_does_not_own_refuses_the_whole_batch(
    database_urls: dict[str, str],
) -> None:
    async with running_app("notices", database_urls["notices"]) as notices:
        own = community_envelope(type_="repairs.ticket.created", payload={"community_id": "c1"})
        foreign = community_envelope()
        r = await post_batch(notices, [own[1], foreign[1]], source="repairs",
                             secret=WEBHOOK_SECRETS[("repairs", "notices")])
        assert_error(r, 403, "event_type_not_owned")
        assert await counts(notices) == (0, 0)


@pytest.mark.parametrize("case", ["forged", "other_pair", "unknown_source"])
async def test_an_unauthentic_batch_is_refused_401_and_changes_nothing(repairs: Any, case: str) -> None:
    bodies = [community_envelope()[1]]
    if case == "forged":
        body = batch_body(bodies)
        headers = {**sign_headers(SECRET, "batch_1", body), SOURCE_HEADER: "identity"}
        body = body.replace(b"\"events\"", b"\"events\" ")  # tampered after signing
        async with client_for(repairs) as client:
            r = await client.post("/events/batch", content=body, headers=headers)
    elif case == "other_pair":
        r = await post_batch(repairs, bodies, secret=WEBHOOK_SECRETS[("identity", "notices")])
    else:
        r = await post_batch(repairs, bodies, source="billing")
    assert r.status_code == 401
    assert await counts(repairs) == (0, 0)


@pytest.mark.parametrize(
    "raw",
    [b"[]", b'{"events": []}', b'{"events": {}}', b'{"events": [{"type": "identity.x", "data": {}}]}',
     b'{"events": [1]}', b"not json"],
)
async def test_a_malformed_batch_is_refused_400(repairs: Any, raw: bytes) -> None:
    r = await post_batch(repairs, [], raw=raw)
    assert_error(r, 400, "malformed_webhook")
    assert await counts(repairs) == (0, 0)


async def test_too_many_events_in_one_batch_are_refused(repairs: Any) -> None:
    r = await post_batch(repairs, [community_envelope()[1] for _ in range(201)])
    assert_error(r, 400, "malformed_webhook")
    assert await counts(repairs) == (0, 0)


async def emit_communities(identity: Any, n: int) -> list[str]:
    cids = [str(uuid.uuid4()) for _ in range(n)]
    async with identity.state.sessionmaker() as session:
        for cid in cids:
            emit(session, "identity.community.created", {"community_id": cid, "name": "幸福里"},
                 ordering_key=cid)
        await session.commit()
    return cids


async def test_the_dispatcher_sends_batches_to_the_real_receiver(identity: Any, repairs: Any) -> None:
    requests: list[str] = []
    asgi = httpx.ASGITransport(app=repairs)

    async def counting(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        return await asgi.handle_async_request(request)

    d = Dispatcher(service="identity", sessionmaker=identity.state.sessionmaker,
                   http=httpx.AsyncClient(transport=httpx.MockTransport(counting)),
                   subscriptions=[SUB], events_per_request=50)
    cids = await emit_communities(identity, 120)
    await d.drain()
    assert await counts(repairs) == (120, 120)
    # 200 claimed per round: 120 events in 3 requests of at most 50, none alone.
    assert requests == ["/events/batch"] * 3
    async with identity.state.sessionmaker() as s:
        statuses = (await s.scalars(select(Delivery.status))).all()
    assert sorted(set(statuses)) == ["delivered"] and len(statuses) == len(cids)


async def test_only_the_failed_items_of_a_batch_are_retried(identity: Any, repairs: Any) -> None:
    asgi = httpx.ASGITransport(app=repairs)
    fail_once = {"armed": True}

    async def flaky(request: httpx.Request) -> httpx.Response:
        doc = json.loads(request.content)
        if fail_once["armed"] and request.url.path.endswith("/batch"):
            # The receiver fails the second event (its handler raised), the rest are applied.
            fail_once["armed"] = False
            response = await asgi.handle_async_request(request)
            await response.aread()
            results = response.json()["results"]
            results[1]["status"] = "failed"
            return httpx.Response(200, json={"results": results})
        assert doc  # a retry
        return await asgi.handle_async_request(request)

    clock_now = [datetime.now(UTC)]
    d = Dispatcher(service="identity", sessionmaker=identity.state.sessionmaker,
                   http=httpx.AsyncClient(transport=httpx.MockTransport(flaky)), subscriptions=[SUB],
                   events_per_request=10, schedule=[timedelta(seconds=5)], clock=lambda: clock_now[0])
    await emit_communities(identity, 4)
    await d.drain()
    async with identity.state.sessionmaker() as s:
        rows = (await s.scalars(select(Delivery).order_by(Delivery.id))).all()
    assert [(r.status, r.attempts) for r in rows] == [
        ("delivered", 1), ("pending", 1), ("delivered", 1), ("delivered", 1)]
    assert rows[1].last_error == "batch item failed"
    clock_now[0] += timedelta(seconds=5)
    await d.drain()
    async with identity.state.sessionmaker() as s:
        rows = (await s.scalars(select(Delivery).order_by(Delivery.id))).all()
    assert [(r.status, r.attempts) for r in rows][1] == ("delivered", 2)


async def test_an_endpoint_without_the_batch_path_gets_single_deliveries(identity: Any) -> None:
    received: list[str] = []

    async def old_endpoint(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/events":
            return httpx.Response(404)
        received.append(json.loads(request.content)["id"])
        return httpx.Response(200, json={"status": "processed"})

    d = Dispatcher(service="identity", sessionmaker=identity.state.sessionmaker,
                   http=httpx.AsyncClient(transport=httpx.MockTransport(old_endpoint)),
                   subscriptions=[SUB], events_per_request=100)
    await emit_communities(identity, 5)
    await d.drain()
    assert len(received) == 5
    async with identity.state.sessionmaker() as s:
        rows = (await s.scalars(select(Delivery))).all()
    assert {(r.status, r.attempts) for r in rows} == {("delivered", 1)}
