"""Replica backfill: a consumer that starts empty pulls the producer's paged snapshot while
events keep flowing, and ends with every entity at its latest state, nothing missed or
regressed; the snapshot endpoint only answers signed requests of configured subscribers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.common.app import create_service_app
from services.common.events import emit
from services.common.events.backfill import (
    SnapshotItem,
    SnapshotPage,
    Snapshots,
    backfill,
    canonical_request,
)
from services.common.events.config import Subscription
from services.common.events.dispatcher import Dispatcher
from services.common.events.models import Backfill
from services.common.events.wire import EventTypeNotOwned, sign_headers
from services.common.identity_replica.models import ReplicaCommunity
from services.identity.models import Community
from tests.support import WEBHOOK_SECRETS, running_app, settings_for


def community_item(c: Community) -> SnapshotItem:
    return SnapshotItem(
        type="identity.community.created",
        payload={"community_id": c.id, "name": c.name},
        ordering_key=c.id,
    )


async def rename(sm: Any, cid: str, name: str) -> None:
    """A change at the producer: the row and its event in one transaction."""
    async with sm() as session:
        community = await session.get(Community, cid)
        community.name = name
        emit(session, "identity.community.created", {"community_id": cid, "name": name},
             ordering_key=cid)
        await session.commit()


async def create(sm: Any, name: str) -> str:
    cid = str(uuid.uuid4())
    async with sm() as session:
        session.add(Community(id=cid, community_id=cid, name=name))
        emit(session, "identity.community.created", {"community_id": cid, "name": name},
             ordering_key=cid)
        await session.commit()
    return cid


@pytest.fixture
async def apps(database_urls: dict[str, str]) -> Any:
    snapshots = Snapshots()
    hooks: dict[str, Any] = {}

    @snapshots.stream("communities")
    async def communities(session: Any, cursor: str | None, limit: int) -> SnapshotPage:
        query = select(Community).order_by(Community.id).limit(limit + 1)
        if cursor:
            query = query.where(Community.id > cursor)
        rows = list((await session.scalars(query)).all())
        page = rows[:limit]
        return SnapshotPage(
            items=[community_item(c) for c in page],
            next_cursor=page[-1].id if len(rows) > limit else None,
        )

    producer = create_service_app(
        settings_for("identity", database_urls["identity"]), title="producer", routers=[],
        snapshots=snapshots,
    )
    async with producer.router.lifespan_context(producer):
        async with running_app("repairs", database_urls["repairs"]) as consumer:
            yield producer, consumer, hooks


async def test_backfill_then_follow_without_missing_or_regressing(apps: Any) -> None:
    producer, consumer, hooks = apps
    psm = producer.state.sessionmaker
    ids = sorted([await create(psm, f"小区{i}-v1") for i in range(5)])
    delivery = Dispatcher(
        service="identity", sessionmaker=psm,
        http=httpx.AsyncClient(transport=httpx.ASGITransport(app=consumer)),
        subscriptions=[Subscription("repairs", "http://repairs.test/events", ("identity.*",),
                                    WEBHOOK_SECRETS[("identity", "repairs")])],
    )
    # The consumer was down so far: the events of the first five are still pending.
    await delivery.fan_out()

    async def change_during_pull() -> None:
        # After the second page was read (stale for ids[2], ids[3]) and before it is applied:
        # a rename of ids[2] is delivered, one of ids[3] is only emitted, a new one appears.
        await rename(psm, ids[2], "小区2-v2")
        await delivery.run_once()  # delivers whatever is due, including the rename of ids[2]
        await rename(psm, ids[3], "小区3-v2")
        hooks["new"] = await create(psm, "新小区")

    pages = {"n": 0}

    async def after_page(response: httpx.Response) -> None:
        # The second page has been read at the producer and not yet applied by the consumer.
        pages["n"] += 1
        if pages["n"] == 2:
            await change_during_pull()

    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=producer), event_hooks={"response": [after_page]}
    )
    applied = await backfill(
        sessionmaker=consumer.state.sessionmaker, handlers=consumer.state.event_handlers,
        http=http, producer="identity", stream="communities", subscriber="repairs",
        secret=WEBHOOK_SECRETS[("identity", "repairs")], producer_url="http://identity.test", page_size=2,
    )
    assert applied >= 2  # items whose entity already arrived as an event are skipped
    await delivery.drain()  # the consumer follows the events from here on

    async with consumer.state.sessionmaker() as s:
        names = {c.community_id: c.name for c in (await s.scalars(select(ReplicaCommunity))).all()}
        state = await s.get(Backfill, ("identity", "communities"))
    assert pages["n"] >= 3
    for cid in (ids[0], ids[1], ids[4]):
        assert names[cid].endswith("-v1")
    assert names[ids[2]] == "小区2-v2" and names[ids[3]] == "小区3-v2"
    assert names[hooks["new"]] == "新小区" and len(names) == 6
    assert state is not None and state.completed_at is not None and state.items >= 5
    # Done once: a second run pulls nothing.
    again = await backfill(
        sessionmaker=consumer.state.sessionmaker, handlers=consumer.state.event_handlers,
        http=http, producer="identity", stream="communities", subscriber="repairs",
        secret=WEBHOOK_SECRETS[("identity", "repairs")], producer_url="http://identity.test",
    )
    assert again == 0


async def test_a_snapshot_with_another_services_event_types_is_refused(apps: Any) -> None:
    """As for deliveries (test_receiver.py): a producer cannot pass off identity's types."""
    _, consumer, _ = apps
    forged = {"stream": "communities", "next_cursor": None, "items": [{
        "type": "identity.community.created", "ordering_key": "c-1",
        "data": {"community_id": "c-1", "name": "伪造小区"}}]}
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=forged)))
    with pytest.raises(EventTypeNotOwned):
        await backfill(
            sessionmaker=consumer.state.sessionmaker, handlers=consumer.state.event_handlers,
            http=http, producer="votes", stream="communities", subscriber="repairs",
            secret=WEBHOOK_SECRETS[("votes", "repairs")], producer_url="http://votes.test",
        )
    async with consumer.state.sessionmaker() as s:
        assert (await s.scalars(select(ReplicaCommunity))).all() == []


async def test_snapshot_endpoint_authenticates_subscribers(apps: Any) -> None:
    producer, _, _ = apps
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=producer), base_url="http://p")
    path = "/internal/snapshot/communities"

    def signed(secret: str, subscriber: str, stream: str = "communities") -> dict[str, str]:
        h = sign_headers(secret, "snap_1", canonical_request(stream, None, 200))
        return {**h, "x-event-subscriber": subscriber}

    ok = await http.get(path, params={"limit": 200}, headers=signed(WEBHOOK_SECRETS[("identity", "votes")], "votes"))
    assert ok.status_code == 200 and ok.json()["items"] == []
    assert (await http.get(path)).status_code == 401
    wrong = signed(WEBHOOK_SECRETS[("identity", "notices")], "votes")
    assert (await http.get(path, params={"limit": 200}, headers=wrong)).status_code == 401
    # Another producer's secret for votes does not open identity's snapshots to votes.
    other_pair = signed(WEBHOOK_SECRETS[("repairs", "votes")], "votes")
    assert (await http.get(path, params={"limit": 200}, headers=other_pair)).status_code == 401
    stranger = signed(WEBHOOK_SECRETS[("repairs", "identity")], "identity")  # not a subscriber
    assert (await http.get(path, params={"limit": 200}, headers=stranger)).status_code == 401
    # Signed for another query than the one sent.
    assert (await http.get(path, params={"limit": 5},
                           headers=signed(WEBHOOK_SECRETS[("identity", "votes")], "votes"))).status_code == 401
    unknown = signed(WEBHOOK_SECRETS[("identity", "votes")], "votes", "nope")
    r = await http.get("/internal/snapshot/nope", params={"limit": 200}, headers=unknown)
    assert r.status_code == 404


async def test_backfill_from_runs_at_startup_over_loopback(
    apps: Any, database_urls: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import uvicorn

    from bench.events_harness import free_port
    from services.common.events import EventHandlers
    from services.common.identity_replica import register_identity_replica

    producer, _, _ = apps
    psm = producer.state.sessionmaker
    ids = {await create(psm, f"小区{i}") for i in range(3)}
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(producer, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    monkeypatch.setenv("IDENTITY_URL", f"http://127.0.0.1:{port}")
    try:
        consumer = create_service_app(
            settings_for("repairs", database_urls["repairs"], events_backfill_enabled=True),
            title="consumer",
            routers=[],
            event_handlers=register_identity_replica(EventHandlers()),
            backfill_from={"identity": ["communities"]},
        )
        async with consumer.router.lifespan_context(consumer):
            await asyncio.wait_for(consumer.state.backfill_task, 30)
            async with consumer.state.sessionmaker() as s:
                got = {c.community_id for c in (await s.scalars(select(ReplicaCommunity))).all()}
                state = await s.get(Backfill, ("identity", "communities"))
        assert got == ids and state.completed_at is not None
    finally:
        server.should_exit = True
        await serving
