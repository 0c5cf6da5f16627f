"""Factories for the notices tests: the app with a WeChat transport, its clock, and small
async functions for communities with rooms and verified members and for notices."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from services.notices.app import create_app
from services.notices.models import PushMessage
from services.notices.rules import SHANGHAI
from tests.common.identity_replica import factories as ie
from tests.support import auth, client_for, manager_token, settings_for, token
from wechat_standin.app import create_app as create_standin

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=SHANGHAI).astimezone(UTC)
LATE = datetime(2026, 11, 25, 23, 0, tzinfo=SHANGHAI).astimezone(UTC)
MORNING = datetime(2026, 11, 26, 7, 0, tzinfo=SHANGHAI).astimezone(UTC)
TEMPLATE = "tpl-notice"


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
    # Notices' pictures and files in a folder of the test's own, never the checkout's data/.
    overrides.setdefault("files_dir", tempfile.mkdtemp(prefix="notice-files-"))
    app = create_app(
        settings_for("notices", database_url, **overrides),
        wechat_transport=transport or wechat_transport(),
    )
    async with app.router.lifespan_context(app):
        yield app


def set_clock(app: Any, moment: datetime) -> None:
    app.state.clock.set(moment)


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


def ticket_event(c: Community, reporter: str, ticket_id: str, action: str, to_status: str) -> dict:
    return {
        "community_id": c.id,
        "ticket_id": ticket_id,
        "reporter_id": reporter,
        "room_id": None,
        "from_status": "submitted",
        "to_status": to_status,
        "action": action,
        "assignee_id": None,
        "note": None,
    }


class Setup:
    """The notices app, the stand-in behind it and an owner who can receive pushes."""

    def __init__(self, app, client, wechat, community, owner_id, owner, openid):
        self.app, self.client, self.wechat = app, client, wechat
        self.c, self.owner_id, self.owner, self.openid = community, owner_id, owner, openid

    async def consent(self, template: str = TEMPLATE, at_wechat: bool = True) -> None:
        r = await self.client.post(
            "/me/subscriptions", json={"template_ids": [template]}, headers=self.owner
        )
        assert r.status_code == 200, r.text
        if at_wechat:
            r = await self.wechat.post(
                "/_standin/consents", json={"openid": self.openid, "template_id": template}
            )
            assert r.status_code < 300

    async def messages(self) -> list[dict]:
        r = await self.wechat.get("/_standin/messages", params={"touser": self.openid})
        assert r.status_code == 200
        body = r.json()
        return body["messages"] if isinstance(body, dict) else body

    async def fault(self, path: str, times: int, **what: int) -> None:
        r = await self.wechat.post("/_standin/faults", json={"path": path, "times": times, **what})
        assert r.status_code < 300

    async def pushes(self) -> list[PushMessage]:
        async with self.app.state.sessionmaker() as s:
            return list(
                (await s.scalars(select(PushMessage).order_by(PushMessage.created_at))).all()
            )


@asynccontextmanager
async def push_setup(database_url: str, **overrides) -> AsyncIterator[Setup]:
    transport = wechat_transport()
    async with (
        notices_app(database_url, transport=transport, **overrides) as app,
        client_for(app) as client,
        httpx.AsyncClient(transport=transport, base_url="http://wechat.test") as wechat,
    ):
        set_clock(app, NOON)
        c = Community(app)
        owner_id, owner = await c.member(await c.room(), openid="openid-li")
        yield Setup(app, client, wechat, c, owner_id, owner, "openid-li")
