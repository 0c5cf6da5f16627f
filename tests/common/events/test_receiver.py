"""POST /events: signature, timestamps, idempotency, transactions (R6 and the receive rules)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from services.common.events.models import InboxEntry
from services.common.events.wire import envelope, sign_headers
from services.common.identity_replica.models import ReplicaCommunity
from tests.support import WEBHOOK_SECRETS, client_for, running_app

SECRET = WEBHOOK_SECRETS["repairs"]


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


async def counts(app: Any) -> tuple[int, int]:
    async with app.state.sessionmaker() as s:
        inbox = await s.scalar(select(func.count()).select_from(InboxEntry))
        communities = await s.scalar(select(func.count()).select_from(ReplicaCommunity))
    return int(inbox or 0), int(communities or 0)


@pytest.fixture
async def repairs(database_urls: dict[str, str]) -> Any:
    async with running_app("repairs", database_urls["repairs"]) as app:
        yield app


async def test_valid_event_is_applied_once_and_a_replay_is_a_no_op(repairs: Any) -> None:
    event_id, body, cid = community_event("幸福里")
    r = await post(repairs, body, sign_headers(SECRET, event_id, body))
    assert r.status_code == 200 and r.json() == {"status": "processed"}
    # The same webhook-id again, freshly signed and with a changed payload: acknowledged, not run.
    replay = envelope(
        event_id, "identity.community.created", datetime.now(UTC),
        {"community_id": cid, "name": "改过的名字"}, cid,
    )
    r = await post(repairs, replay, sign_headers(SECRET, event_id, replay))
    assert r.status_code == 200 and r.json() == {"status": "duplicate"}
    async with repairs.state.sessionmaker() as s:
        row = await s.get(ReplicaCommunity, cid)
        assert row is not None and row.name == "幸福里"
        entry = await s.get(InboxEntry, event_id)
        assert entry is not None and entry.ordering_key == cid
    assert await counts(repairs) == (1, 1)


@pytest.mark.parametrize(
    "case",
    ["forged_signature", "wrong_secret", "tampered_body", "stale", "future"],
)
async def test_unauthentic_or_out_of_time_events_are_rejected_401(repairs: Any, case: str) -> None:
    event_id, body, _ = community_event()
    now = datetime.now(UTC)
    if case == "forged_signature":
        headers = sign_headers(SECRET, event_id, body)
        headers["webhook-signature"] = "v1," + base64.b64encode(b"x" * 32).decode()
    elif case == "wrong_secret":
        headers = sign_headers(WEBHOOK_SECRETS["notices"], event_id, body)
    elif case == "tampered_body":
        headers = sign_headers(SECRET, event_id, body)
        body = body.replace("幸福里".encode(), "别的小区".encode())
    elif case == "stale":
        headers = sign_headers(SECRET, event_id, body, at=now - timedelta(minutes=5, seconds=30))
    else:
        headers = sign_headers(SECRET, event_id, body, at=now + timedelta(minutes=5, seconds=30))
    r = await post(repairs, body, headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] in (
        "invalid_webhook_signature", "webhook_timestamp_out_of_range"
    )
    assert await counts(repairs) == (0, 0)


async def test_timestamps_inside_the_window_are_accepted(repairs: Any) -> None:
    for delta in (timedelta(minutes=-4, seconds=-50), timedelta(minutes=4, seconds=50)):
        event_id, body, _ = community_event()
        headers = sign_headers(SECRET, event_id, body, at=datetime.now(UTC) + delta)
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
    headers = sign_headers(SECRET, event_id, body)
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
        headers = sign_headers(SECRET, event_id, body)
    except UnicodeDecodeError:  # a sender cannot even sign it: forge a signature instead
        headers = sign_headers(SECRET, event_id, b"x")
    r = await post(repairs, body, headers)
    assert r.status_code in (400, 401)
    assert await counts(repairs) == (0, 0)


async def test_unknown_type_is_acknowledged_and_ignored(repairs: Any) -> None:
    event_id = "evt_" + uuid.uuid4().hex
    body = envelope(event_id, "votes.vote.opened", datetime.now(UTC), {"community_id": "c"}, None)
    r = await post(repairs, body, sign_headers(SECRET, event_id, body))
    assert r.status_code == 200 and r.json() == {"status": "ignored"}
    assert await counts(repairs) == (1, 0)


async def test_handler_error_answers_500_and_keeps_nothing(repairs: Any) -> None:
    event_id = "evt_" + uuid.uuid4().hex
    # A room event without its required fields: the replica handler raises KeyError.
    body = envelope(
        event_id, "identity.room.upserted", datetime.now(UTC), {"community_id": "c1"}, "r1"
    )
    r = await post(repairs, body, sign_headers(SECRET, event_id, body))
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "event_handler_failed"
    assert await counts(repairs) == (0, 0)
    # The inbox row rolled back with it: a later (fixed) delivery of that id is processed.
    cid = str(uuid.uuid4())
    fixed = envelope(
        event_id, "identity.community.created", datetime.now(UTC),
        {"community_id": cid, "name": "好了"}, cid,
    )
    r = await post(repairs, fixed, sign_headers(SECRET, event_id, fixed))
    assert r.json() == {"status": "processed"}
    assert await counts(repairs) == (1, 1)


async def test_every_service_mounts_the_receiver(database_urls: dict[str, str]) -> None:
    for service in ("identity", "votes", "notices"):
        async with running_app(service, database_urls[service]) as app:
            event_id = "evt_" + uuid.uuid4().hex
            body = json.dumps({"type": "x.y.z", "data": {}}).encode()
            r = await post(app, body, sign_headers(WEBHOOK_SECRETS[service], event_id, body))
            assert r.status_code == 200, service
            r = await post(app, body, sign_headers(SECRET, event_id, body))
            assert r.status_code == 401, service


async def test_concurrent_copies_of_one_event_apply_it_once(repairs: Any) -> None:
    event_id, body, _ = community_event()
    answers = await asyncio.gather(
        *(post(repairs, body, sign_headers(SECRET, event_id, body)) for _ in range(5))
    )
    statuses = sorted(r.json()["status"] for r in answers)
    assert statuses == ["duplicate"] * 4 + ["processed"]
    assert await counts(repairs) == (1, 1)


async def test_a_failing_event_among_concurrent_ones_fails_alone(repairs: Any) -> None:
    good = [community_event(f"小区{i}") for i in range(6)]
    bad_id = "evt_" + uuid.uuid4().hex
    bad = envelope(bad_id, "identity.room.upserted", datetime.now(UTC), {"community_id": "c"}, "r")
    posts = [post(repairs, body, sign_headers(SECRET, eid, body)) for eid, body, _ in good]
    posts.insert(3, post(repairs, bad, sign_headers(SECRET, bad_id, bad)))
    answers = await asyncio.gather(*posts)
    codes = [r.status_code for r in answers]
    assert codes == [200, 200, 200, 500, 200, 200, 200]
    assert await counts(repairs) == (6, 6)
