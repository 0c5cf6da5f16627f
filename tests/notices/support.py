"""Helpers for the notices tests: the app with a WeChat transport, a clock, and small
factories for communities with rooms and verified members."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx

from services.notices.app import create_app
from tests import identity_events as ie
from tests.support import auth, manager_token, settings_for, token
from wechat_standin.app import create_app as create_standin


def wechat_transport() -> httpx.AsyncBaseTransport:
    """The WeChat stand-in, in process."""
    return httpx.ASGITransport(app=create_standin())


@asynccontextmanager
async def notices_app(
    database_url: str, *, transport: httpx.AsyncBaseTransport | None = None, **overrides: Any
) -> AsyncIterator[Any]:
    """The notices app with its real lifespan. The worker's loop sleeps long, so tests drive
    it with `await app.state.notices_worker.tick()`."""
    overrides.setdefault("worker_interval_seconds", 3600)
    overrides.setdefault("wechat_api_base", "http://wechat.test")
    app = create_app(
        settings_for("notices", database_url, **overrides),
        wechat_transport=transport or wechat_transport(),
    )
    async with app.router.lifespan_context(app):
        yield app


def set_clock(app: Any, moment: datetime) -> None:
    app.state.notices.clock.set(moment)


async def tick(app: Any) -> None:
    await app.state.notices_worker.tick()


class Community:
    """A community in the replica: buildings of rooms, verified members, a manager."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.id = str(uuid.uuid4())
        self.manager_id = str(uuid.uuid4())
        self.manager = auth(manager_token(self.id, self.manager_id))
        self.other_manager = auth(manager_token(self.id))
        self.rooms: dict[str, dict[str, Any]] = {}

    async def room(
        self, building: str = "1", room_no: str = "101", unit: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        r = await ie.room(self.app, self.id, building=building, room_no=room_no, unit=unit, **kw)
        self.rooms[f"{building}-{room_no}"] = r
        return r

    async def member(
        self, room: dict[str, Any], relation: str = "owner", openid: str | None = None
    ) -> tuple[str, dict[str, str]]:
        account_id = str(uuid.uuid4())
        # As identity sends it, with the openid notices needs for pushes (docs/events.md).
        await ie.deliver(
            self.app,
            "identity.binding.verified",
            {
                "community_id": self.id,
                "binding_id": str(uuid.uuid4()),
                "account_id": account_id,
                "room_id": room["room_id"],
                "relation": relation,
                "display_name": f"{room['label']}住户",
                "parent_binding_id": None,
                "openid": openid,
            },
        )
        return account_id, auth(token(account_id))

    def building_id(self, building: str) -> str:
        return f"b-{self.id[:8]}-{building}"


def notice_body(community: Community, **fields: Any) -> dict[str, Any]:
    return {
        "community_id": community.id,
        "title": "停水通知",
        "body": "明天上午9点至12点停水检修，请提前储水。",
        "category": "maintenance",
        "audience": {"kind": "community"},
        **fields,
    }


async def published_notice(
    client: httpx.AsyncClient, community: Community, **fields: Any
) -> dict[str, Any]:
    """Draft → submitted → approved (by another manager) → published."""
    r = await client.post(
        "/notices", json=notice_body(community, **fields), headers=community.manager
    )
    assert r.status_code == 201, r.text
    nid = r.json()["id"]
    assert (
        await client.post(f"/notices/{nid}/submit", headers=community.manager)
    ).status_code == 200
    assert (
        await client.post(f"/notices/{nid}/approve", headers=community.other_manager)
    ).status_code == 200
    r = await client.post(f"/notices/{nid}/publish", headers=community.manager)
    assert r.status_code == 200, r.text
    return r.json()
