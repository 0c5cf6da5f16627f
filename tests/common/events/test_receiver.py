"""POST /events: producer and signature (one secret per producer/consumer pair, types only
from their owner), timestamps, idempotency, transactions (R6 and the receive rules)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.events.models import InboxEntry
from services.common.events.wire import SOURCE_HEADER, envelope, sign_headers
from services.common.identity_replica.models import ReplicaCommunity
from tests.common.events.factories import counts
from tests.support import WEBHOOK_SECRETS, assert_error, client_for, running_app

SECRET = WEBHOOK_SECRETS[("identity", "repairs")]


def signed(
    event_id: str, body: bytes, *, source: str = "identity", secret: str = SECRET,
    at: datetime | None = None,
) -> dict[str, str]:
    """Headers of a delivery as `source`'s dispatcher sends it (signed with `secret`)."""
    return {**sign_headers(secret, event_id, body, at=at), SOURCE_HEADER: source}


def community_event(name: str = "幸福里", cid: str | None = None) -> tuple[str, bytes, str]:
    cid = cid or str(uuid.uuid4())
    event_id = "evt_" + uuid.uuid4().hex
    body = envelope(
        event_id,
        "identity.community.created",
        datetime.now(UTC),
        {"community_id": cid, "name": name},
        cid,
    )
    return event_id, body, cid


async def post(app: Any, body: bytes, headers: dict[str, str]) -> Any:
    async with client_for(app) as client:
        return await client.post(
            "/events", content=body, headers={"content-type": "application/json", **headers}
        )



@pytest.fixture
async def repairs(database_urls: dict[str, str]) -> Any:
    async with running_app("repairs", database_urls["repairs"]) as app:
        yield app


async def test_valid_event_is_applied_once_and_a_replay_is_a_no_op(repairs: Any) -> None:
    event_id, body, cid = community_event("幸福里")
    r = await post(repairs, body, signed(event_id, body))
    assert r.status_code == 200 and r.json() == {"status": "processed"}
    # The same webhook-id again, freshly signed and with a changed payload: acknowledged, not run.
    replay = envelope(
        event_id, "identity.community.created", datetime.now(UTC),
        {"community_id": cid, "name": "改过的名字"}, cid,
    )
    r = await post(repairs, replay, signed(event_id, replay))
    assert r.status_code == 200 and r.json() == {"status": "duplicate"}
    async with repairs.state.sessionmaker() as s:
        row = await s.get(ReplicaCommunity, cid)
        assert row is not None and row.name == "幸福里"
        entry = await s.get(InboxEntry, event_id)
        assert entry is not None and entry.ordering_key == cid
    assert await counts(repairs) == (1, 1)


@pytest.mark.parametrize(
    "case",
    [
        "forged_signature", "other_consumers_secret", "other_producers_secret", "no_source",
        "unknown_source", "tampered_body", "stale", "future",
    ],
)
async def test_unauthentic_or_out_of_time_events_are_rejected_401(repairs: Any, case: str) -> None:
    event_id, body, _ = community_event()
    now = datetime.now(UTC)
    if case == "forged_signature":
        headers = signed(event_id, body)
        headers["webhook-signature"] = "v1," + base64.b64encode(b"x" * 32).decode()
    elif case == "other_consumers_secret":
        # identity's secret for notices (leaked there) does not open repairs.
        headers = signed(event_id, body, secret=WEBHOOK_SECRETS[("identity", "notices")])
    elif case == "other_producers_secret":
        # Another producer's secret for repairs, claiming to be identity.
        headers = signed(event_id, body, secret=WEBHOOK_SECRETS[("votes", "repairs")])
    elif case == "no_source":
        headers = signed(event_id, body)
        del headers[SOURCE_HEADER]
    elif case == "unknown_source":
        headers = signed(event_id, body, source="billing")
    elif case == "tampered_body":
        headers = signed(event_id, body)
        body = body.replace("幸福里".encode(), "别的小区".encode())
    elif case == "stale":
        headers = signed(event_id, body, at=now - timedelta(minutes=5, seconds=30))
    else:
        headers = signed(event_id, body, at=now + timedelta(minutes=5, seconds=30))
    r = await post(repairs, body, headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] in (
        "invalid_webhook_signature", "webhook_timestamp_out_of_range", "unknown_event_source"
    )
    assert await counts(repairs) == (0, 0)


async def test_a_producer_cannot_deliver_another_services_event_types(
    database_urls: dict[str, str],
) -> None:
    # repairs -> notices is a real pair: its secret signs validly, yet identity's types
    # come from identity only, so a leaked repairs secret cannot forge a binding or a room.
    async with running_app("notices", database_urls["notices"]) as notices:
        event_id, body, _ = community_event()
        secret = WEBHOOK_SECRETS[("repairs", "notices")]
        r = await post(notices, body, signed(event_id, body, source="repairs", secret=secret))
        error = assert_error(r, 403, "event_type_not_owned")
        assert error["details"] == {"source": "repairs", "type": "identity.community.created"}
        assert await counts(notices) == (0, 0)
        # The same event from its owner, with the owner's pair secret, is applied.
        own = signed(event_id, body, source="identity", secret=WEBHOOK_SECRETS[("identity", "notices")])
        assert (await post(notices, body, own)).json() == {"status": "processed"}
        assert await counts(notices) == (1, 1)


async def test_timestamps_inside_the_window_are_accepted(repairs: Any) -> None:
    for delta in (timedelta(minutes=-4, seconds=-50), timedelta(minutes=4, seconds=50)):
        event_id, body, _ = community_event()
        headers = signed(event_id, body, at=datetime.now(UTC) + delta)
        assert (await post(repairs, body, headers)).status_code == 200
    assert await counts(repairs) == (2, 2)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h: h.pop("webhook-id"),
        lambda h: h.pop("webhook-timestamp"),
        lambda h: h.pop("webhook-signature"),
        lambda h: h.update({"webhook-timestamp": "not-a-number"}),
        lambda h: h.update({"webhook-timestamp": "1e9"}),
        lambda h: h.update({"webhook-id": "id with spaces"}),
        lambda h: h.update({"webhook-id": "x" * 65}),
        lambda h: h.update({"webhook-signature": "v1"}),
        lambda h: h.update({"webhook-signature": "v1,###"}),
        lambda h: h.update({"webhook-signature": "v2," + h["webhook-signature"][3:]}),
    ],
    ids=[
        "no-id", "no-timestamp", "no-signature", "timestamp-text", "timestamp-float",
        "id-spaces", "id-too-long", "signature-no-comma", "signature-not-base64",
        "signature-unknown-version",
    ],
)
async def test_malformed_headers_are_rejected(repairs: Any, mutate: Any) -> None:
    event_id, body, _ = community_event()
    headers = signed(event_id, body)
    mutate(headers)
    r = await post(repairs, body, headers)
    assert r.status_code in (400, 401)
    assert "error" in r.json()
    assert await counts(repairs) == (0, 0)


@pytest.mark.parametrize(
    "body",
    [b"not json at all", b"[1, 2]", b'{"type": "identity.community.created"}',
     b'{"type": 5, "data": {}}', b"\xff\xfe"],
    ids=["text", "array", "no-data", "type-not-string", "not-utf8"],
)
async def test_signed_but_malformed_bodies_are_rejected_400(repairs: Any, body: bytes) -> None:
    event_id = "evt_" + uuid.uuid4().hex
    try:
        headers = signed(event_id, body)
    except UnicodeDecodeError:  # a sender cannot even sign it: forge a signature instead
        headers = signed(event_id, b"x")
    r = await post(repairs, body, headers)
    assert r.status_code in (400, 401)
    assert await counts(repairs) == (0, 0)


async def test_unknown_type_is_acknowledged_and_ignored(repairs: Any) -> None:
    event_id = "evt_" + uuid.uuid4().hex
    body = envelope(event_id, "identity.thing.happened", datetime.now(UTC), {"community_id": "c"}, None)
    r = await post(repairs, body, signed(event_id, body))
    assert r.status_code == 200 and r.json() == {"status": "ignored"}
    assert await counts(repairs) == (1, 0)


async def test_handler_error_answers_500_and_keeps_nothing(repairs: Any) -> None:
    event_id = "evt_" + uuid.uuid4().hex
    # A room event without its required fields: the replica handler raises KeyError.
    body = envelope(
        event_id, "identity.room.upserted", datetime.now(UTC), {"community_id": "c1"}, "r1"
    )
    r = await post(repairs, body, signed(event_id, body))
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "event_handler_failed"
    assert await counts(repairs) == (0, 0)
    # The inbox row rolled back with it: a later (fixed) delivery of that id is processed.
    cid = str(uuid.uuid4())
    fixed = envelope(
        event_id, "identity.community.created", datetime.now(UTC),
        {"community_id": cid, "name": "好了"}, cid,
    )
    r = await post(repairs, fixed, signed(event_id, fixed))
    assert r.json() == {"status": "processed"}
    assert await counts(repairs) == (1, 1)


async def test_every_service_mounts_the_receiver(database_urls: dict[str, str]) -> None:
    for service in ("identity", "votes", "notices"):
        async with running_app(service, database_urls[service]) as app:
            event_id = "evt_" + uuid.uuid4().hex
            body = json.dumps({"type": "repairs.y.z", "data": {}}).encode()
            secret = WEBHOOK_SECRETS[("repairs", service)]
            r = await post(app, body, signed(event_id, body, source="repairs", secret=secret))
            assert r.status_code == 200, service
            r = await post(app, body, signed(event_id, body, source="repairs"))
            assert r.status_code == 401, service


async def test_concurrent_copies_of_one_event_apply_it_once(repairs: Any) -> None:
    event_id, body, _ = community_event()
    answers = await asyncio.gather(
        *(post(repairs, body, signed(event_id, body)) for _ in range(5))
    )
    statuses = sorted(r.json()["status"] for r in answers)
    assert statuses == ["duplicate"] * 4 + ["processed"]
    assert await counts(repairs) == (1, 1)


async def test_a_failing_event_among_concurrent_ones_fails_alone(repairs: Any) -> None:
    good = [community_event(f"小区{i}") for i in range(6)]
    bad_id = "evt_" + uuid.uuid4().hex
    bad = envelope(bad_id, "identity.room.upserted", datetime.now(UTC), {"community_id": "c"}, "r")
    posts = [post(repairs, body, signed(eid, body)) for eid, body, _ in good]
    posts.insert(3, post(repairs, bad, signed(bad_id, bad)))
    answers = await asyncio.gather(*posts)
    codes = [r.status_code for r in answers]
    assert codes == [200, 200, 200, 500, 200, 200, 200]
    assert await counts(repairs) == (6, 6)
