"""The wire format of events between services: the envelope a subscriber receives, and its
Standard Webhooks signature, made on one side and verified on the other.

A delivery names its producer in `x-event-source`; the receiver verifies the signature with
that (producer, consumer) pair's secret and accepts only event types the producer owns. The
header is not signed, and needs not be: naming another producer means verifying with a
secret the sender does not have."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook

from services.common.errors import BadRequest, DomainError, Forbidden, Unauthorized
from services.common.events.handlers import ReceivedEvent

TOLERANCE = timedelta(minutes=5)
# The producer of a delivery (a service name), set by the dispatcher.
SOURCE_HEADER = "x-event-source"
_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_TS_RE = re.compile(r"^[0-9]{1,12}$")


class InvalidWebhook(Unauthorized):
    code = "invalid_webhook_signature"
    message = "事件签名无效"


class StaleWebhook(Unauthorized):
    code = "webhook_timestamp_out_of_range"
    message = "事件时间戳超出允许范围"


class UnknownEventSource(Unauthorized):
    code = "unknown_event_source"
    message = "事件发送方未知"


class EventTypeNotOwned(Forbidden):
    code = "event_type_not_owned"
    message = "发送方无权发布该类型的事件"


class MalformedWebhook(BadRequest):
    code = "malformed_webhook"
    message = "事件格式无效"


class EventHandlerFailed(DomainError):
    """A handler raised: nothing was kept, and the sender retries (a 5xx, by design)."""

    status_code = 500
    code = "event_handler_failed"
    message = "事件处理失败，请稍后重试"


def envelope(event_id: str, type_: str, created_at: datetime, payload: dict[str, Any],
             ordering_key: str | None) -> bytes:
    """The body POSTed to subscribers (Standard Webhooks' `{type, timestamp, data}`)."""
    return json.dumps(
        {
            "id": event_id,
            "type": type_,
            "timestamp": created_at.astimezone(UTC).isoformat(),
            "ordering_key": ordering_key,
            "data": payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def sign_headers(secret: str | Webhook, msg_id: str, body: bytes,
                 at: datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers for `body` (also used by the snapshot client)."""
    wh = secret if isinstance(secret, Webhook) else Webhook(secret)
    at = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": wh.sign(msg_id, at, body.decode()),
    }


def verify_signed(
    secret: str, body: bytes, headers: Any, *, now: datetime | None = None
) -> str:
    """Checks Standard Webhooks headers of `body`; returns the webhook-id or raises."""
    msg_id = headers.get("webhook-id") or ""
    ts = headers.get("webhook-timestamp") or ""
    sig = headers.get("webhook-signature") or ""
    if not _ID_RE.match(msg_id) or not _TS_RE.match(ts) or not sig or len(sig) > 1024:
        raise MalformedWebhook()
    now = now or datetime.now(UTC)
    sent = datetime.fromtimestamp(int(ts), tz=UTC)
    if abs(now - sent) > TOLERANCE:
        raise StaleWebhook()
    try:
        Webhook(secret).verify(
            body,
            {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": sig},
            json_parse=False,
        )
    except Exception as exc:  # the library raises ValueError/binascii errors on junk too
        raise InvalidWebhook() from exc
    return msg_id


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedWebhook("事件内容不是有效的 JSON") from exc


def parse_envelope(body: bytes, msg_id: str) -> tuple[ReceivedEvent, str | None]:
    return _event_of(_json(body), msg_id)


def _event_of(doc: Any, msg_id: str) -> tuple[ReceivedEvent, str | None]:
    if not isinstance(doc, dict):
        raise MalformedWebhook()
    type_, data, key = doc.get("type"), doc.get("data"), doc.get("ordering_key")
    if not isinstance(type_, str) or not 0 < len(type_) <= 120 or not isinstance(data, dict):
        raise MalformedWebhook()
    if key is not None and (not isinstance(key, str) or len(key) > 128):
        raise MalformedWebhook()
    created: datetime | None = None
    if isinstance(doc.get("timestamp"), str):
        try:
            created = datetime.fromisoformat(doc["timestamp"])
        except ValueError:
            created = None
    return ReceivedEvent(id=msg_id, type=type_, payload=data, created_at=created), key


def event_owner(event_type: str) -> str:
    """The service that owns an event type: its first segment (`identity.room.upserted`)."""
    return event_type.split(".", 1)[0]


def authenticate_delivery(
    secrets: Mapping[str, str], body: bytes, headers: Any, *, now: datetime | None = None
) -> tuple[str, ReceivedEvent, str | None]:
    """The receiving end's checks, in order: a known producer in `x-event-source` (401),
    headers well-formed (400), timestamp within ±5 minutes (401), signature with that
    producer's secret `secrets[producer]` (401), a JSON envelope (400), an event type the
    producer owns (403). Returns (producer, event, ordering key)."""
    source = headers.get(SOURCE_HEADER) or ""
    secret = secrets.get(source)
    if not secret:
        raise UnknownEventSource()
    msg_id = verify_signed(secret, body, headers, now=now)
    event, key = parse_envelope(body, msg_id)
    if event_owner(event.type) != source:
        raise EventTypeNotOwned(details={"source": source, "type": event.type})
    return source, event, key


# A batch: several envelopes in one signed POST to `<subscription url>/batch`, as
# `{"events": [envelope, ...]}`. The webhook-id names the batch; each envelope's own `id` is
# its event's idempotency key. One request instead of one per event is what lets a replica keep
# up with a burst (15,000 bindings, a 20,000-room roster).
BATCH_SUFFIX = "/batch"
MAX_BATCH_EVENTS = 200


def batch_url(url: str) -> str:
    return url.rstrip("/") + BATCH_SUFFIX


def batch_body(envelopes: Sequence[bytes]) -> bytes:
    """The body of a batch, from envelopes made by `envelope()` (no re-encoding)."""
    return b'{"events":[' + b",".join(envelopes) + b"]}"


def authenticate_batch(
    secrets: Mapping[str, str], body: bytes, headers: Any, *, now: datetime | None = None
) -> tuple[str, list[tuple[ReceivedEvent, str | None]]]:
    """`authenticate_delivery` for a batch: the same checks in the same order, the type check
    for every event (one type the producer does not own refuses the whole batch)."""
    source = headers.get(SOURCE_HEADER) or ""
    secret = secrets.get(source)
    if not secret:
        raise UnknownEventSource()
    verify_signed(secret, body, headers, now=now)
    doc = _json(body)
    items = doc.get("events") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not 0 < len(items) <= MAX_BATCH_EVENTS:
        raise MalformedWebhook()
    events: list[tuple[ReceivedEvent, str | None]] = []
    for item in items:
        event_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(event_id, str) or not _ID_RE.match(event_id):
            raise MalformedWebhook()
        event, key = _event_of(item, event_id)
        if event_owner(event.type) != source:
            raise EventTypeNotOwned(details={"source": source, "type": event.type})
        events.append((event, key))
    return source, events
