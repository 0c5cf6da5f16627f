"""Factories that put identity's facts into a consuming service the way production does:
by handing identity-shaped events (docs/events.md) to the service's own registered handlers.

Use them in repairs, votes and notices tests to set up rooms, verified owners and staff
without running identity. The end-to-end tests cover the real identity → webhook path.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.common.events import ReceivedEvent
from services.common.events.wire import SOURCE_HEADER, envelope, sign_headers
from tests.support import WEBHOOK_SECRETS, client_for

# A binding's default verification time: before any test clock starts, so a factory-made
# household member sees every ticket of the room unless a test says otherwise.
BOUND_LONG_AGO = "2026-01-01T00:00:00+00:00"


async def deliver(app: Any, event_type: str, payload: dict[str, Any]) -> None:
    """Runs the app's handlers for one event in its own committed unit of work."""
    async with app.state.sessionmaker() as session:
        await app.state.event_handlers.handle(
            session, ReceivedEvent(id="evt_" + uuid.uuid4().hex, type=event_type, payload=payload)
        )
        await session.commit()


async def post(app: Any, event_type: str, payload: dict[str, Any], ordering_key: str) -> None:
    """Delivers one identity event as identity's dispatcher does: a signed POST /events, so the
    receiver's checks, its idempotency and its unit of work run as well as the handlers."""
    event_id = "evt_" + uuid.uuid4().hex
    body = envelope(event_id, event_type, datetime.now(UTC), payload, ordering_key)
    secret = WEBHOOK_SECRETS[("identity", app.state.settings.service_name)]
    headers = {**sign_headers(secret, event_id, body), SOURCE_HEADER: "identity"}
    async with client_for(app) as client:
        r = await client.post(
            "/events", content=body, headers={"content-type": "application/json", **headers}
        )
    assert r.status_code == 200 and r.json() == {"status": "processed"}, r.text


async def account_deleted(app: Any, community_id: str, account_id: str) -> None:
    """`DELETE /me` as a consuming service learns of it (one event per community)."""
    await post(
        app,
        "identity.account.deleted",
        {"community_id": community_id, "account_id": account_id},
        account_id,
    )


async def room(
    app: Any,
    community_id: str,
    *,
    building: str = "1",
    building_id: str | None = None,
    unit: str | None = None,
    room_no: str = "101",
    area: str | Decimal = "89.50",
    state: str = "delivered",
    owner_key: str | None = None,
    owners: list[dict[str, Any]] | None = None,
    room_id: str | None = None,
) -> dict[str, Any]:
    payload = {
        "community_id": community_id,
        "room_id": room_id or str(uuid.uuid4()),
        "building_id": building_id or f"b-{community_id[:8]}-{building}",
        "building_name": f"{building}栋",
        "unit": unit,
        "room_no": room_no,
        "label": f"{building}栋{unit + '单元' if unit else ''}{room_no}",
        "area": str(area),
        "state": state,
        "owner_key": owner_key if owner_key is not None else (None if state == "unsold" else f"key-{uuid.uuid4().hex[:8]}"),
        "owners": owners or [],
    }
    await deliver(app, "identity.room.upserted", payload)
    return payload


async def binding(
    app: Any,
    community_id: str,
    room_id: str,
    account_id: str | None = None,
    *,
    relation: str = "owner",
    display_name: str = "1栋101李明",
    parent_binding_id: str | None = None,
    verified_at: str = BOUND_LONG_AGO,
) -> dict[str, Any]:
    payload = {
        "community_id": community_id,
        "binding_id": str(uuid.uuid4()),
        "account_id": account_id or str(uuid.uuid4()),
        "room_id": room_id,
        "relation": relation,
        "display_name": display_name,
        "parent_binding_id": parent_binding_id,
        "verified_at": verified_at,
    }
    await deliver(app, "identity.binding.verified", payload)
    return payload


async def revoke(app: Any, bound: dict[str, Any], reason: str = "unbound") -> None:
    await deliver(
        app,
        "identity.binding.revoked",
        {k: bound[k] for k in ("community_id", "binding_id", "account_id", "room_id", "relation")}
        | {"reason": reason},
    )


async def staff(
    app: Any,
    community_id: str,
    account_id: str | None = None,
    *,
    role: str = "crew",
    department: str | None = "repair",
    name: str = "王师傅",
) -> dict[str, Any]:
    payload = {
        "community_id": community_id,
        "account_id": account_id or str(uuid.uuid4()),
        "staff_id": str(uuid.uuid4()),
        "name": name,
        "role": role,
        "department": department,
    }
    await deliver(app, "identity.staff.upserted", payload)
    return payload
