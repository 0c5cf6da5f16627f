"""Factories for the repairs tests: an app with its clock set and a WeChat server, images,
a community with an owner, a family member, a crew member and a manager, and a submitted ticket."""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import func, select

from services.common.events.models import OutboxEvent
from services.repairs.models import Ticket, TimelineEntry
from services.repairs.wechat import ContentChecker
from tests.common.identity_replica import factories as ie
from tests.support import auth, crew_token, manager_token, running_app, token
from wechat_standin.app import create_app as create_standin

# Where every test's clock starts (10:00 in Shanghai); tests move it with `advance`.
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@asynccontextmanager
async def repairs_app(database_url: str, uploads_dir: Path, **overrides: Any) -> AsyncIterator[Any]:
    overrides.setdefault("scheduler_interval_seconds", 0)
    async with running_app("repairs", database_url, uploads_dir=str(uploads_dir), **overrides) as app:
        app.state.clock.set(T0)
        # The WeChat stand-in, in process: its default markers make text risky ("违禁内容",
        # "[risky]") or due for review ("待审内容", "[review]").
        app.state.wechat = create_standin()
        wechat_http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app.state.wechat), base_url="http://wechat"
        )
        app.state.wechat_http = wechat_http
        app.state.content_checker = ContentChecker(wechat_http, "http://wechat", "wx-app", "secret")
        try:
            yield app
        finally:
            await wechat_http.aclose()


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (32, 24), exif: Image.Exif | None = None) -> bytes:
    buf = io.BytesIO()
    options: dict[str, Any] = {"exif": exif.tobytes()} if exif is not None else {}
    Image.new("RGB", size, (200, 30, 30)).save(buf, format=fmt, **options)
    return buf.getvalue()


def png_bomb(width: int = 40_000, height: int = 40_000) -> bytes:
    """A tiny PNG whose header claims 1.6 Gpx: it would take gigabytes to decode."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@dataclass
class World:
    """One community with a verified room and the people around it."""

    app: Any
    client: httpx.AsyncClient
    cid: str
    room_id: str
    owner_id: str
    family_id: str
    crew_id: str
    crew2_id: str
    manager_id: str
    owner: dict[str, str] = field(default_factory=dict)
    family: dict[str, str] = field(default_factory=dict)
    crew: dict[str, str] = field(default_factory=dict)
    crew2: dict[str, str] = field(default_factory=dict)
    manager: dict[str, str] = field(default_factory=dict)
    stranger: dict[str, str] = field(default_factory=dict)

    async def upload(self, who: dict[str, str], data: bytes | None = None, name: str = "p.png") -> str:
        r = await self.client.post(
            "/uploads", headers=who, files={"file": (name, data or image_bytes(), "image/png")}
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def submit(self, who: dict[str, str] | None = None, **fields: Any) -> httpx.Response:
        who = who or self.owner
        body: dict[str, Any] = {
            "community_id": self.cid,
            "kind": "repair",
            "category": "water",
            "room_id": self.room_id,
            "description": "厨房水管漏水，地面积水",
            "contact_phone": "13800138000",
            "urgent": False,
        }
        if "photo_ids" not in fields:
            body["photo_ids"] = [await self.upload(who)]
        body.update(fields)
        body = {k: v for k, v in body.items() if v is not ...}
        return await self.client.post("/repairs", headers=who, json=body)

    async def ticket(self, who: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
        r = await self.submit(who, **fields)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def act(self, who: dict[str, str], ticket_id: str, action: str, **fields: Any) -> httpx.Response:
        return await self.client.post(
            f"/repairs/{ticket_id}/transitions", headers=who, json={"action": action, **fields}
        )

    async def ok(self, who: dict[str, str], ticket_id: str, action: str, **fields: Any) -> dict[str, Any]:
        r = await self.act(who, ticket_id, action, **fields)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def drive(self, ticket_id: str, to: str) -> None:
        """Takes a ticket along the main path up to status `to`."""
        path = ["accepted", "assigned", "in_progress", "on_hold", "resolved", "closed"]
        steps = {
            "accepted": (self.manager, "accept", {}),
            "assigned": (self.manager, "assign", {"assignee_id": self.crew_id}),
            "in_progress": (self.crew, "start", {}),
            "on_hold": (self.crew, "hold", {"note": "等待配件"}),
            "resolved": (self.crew, "resolve", {}),
            "closed": (self.owner, "confirm", {"rating": 5, "comment": "很及时"}),
        }
        for status in path:
            who, action, fields = steps[status]
            if status == "resolved":
                await self.ok(self.crew, ticket_id, "resume")
                fields = {"photo_ids": [await self.upload(self.crew)]}
            await self.ok(who, ticket_id, action, **fields)
            if status == to:
                return
        raise AssertionError(f"no path to {to}")

    async def counts(self) -> tuple[int, int, int]:
        """(tickets, timeline entries, outbox events) in the database."""
        async with self.app.state.sessionmaker() as s:
            return (
                int(await s.scalar(select(func.count()).select_from(Ticket)) or 0),
                int(await s.scalar(select(func.count()).select_from(TimelineEntry)) or 0),
                int(await s.scalar(select(func.count()).select_from(OutboxEvent)) or 0),
            )

    async def events(self, type_: str) -> list[dict[str, Any]]:
        async with self.app.state.sessionmaker() as s:
            rows = await s.scalars(select(OutboxEvent).where(OutboxEvent.type == type_).order_by(OutboxEvent.created_at))
            return [dict(r.payload) for r in rows]


async def make_world(app: Any, client: httpx.AsyncClient) -> World:
    cid = str(uuid.uuid4())
    room = await ie.room(app, cid, building="3", room_no="502")
    owner = await ie.binding(app, cid, room["room_id"])
    family = await ie.binding(app, cid, room["room_id"], relation="family", parent_binding_id=owner["binding_id"])
    crew = await ie.staff(app, cid, role="crew", department="repair")
    crew2 = await ie.staff(app, cid, role="crew", department="repair", name="李师傅")
    manager = await ie.staff(app, cid, role="manager", department=None, name="张经理")
    w = World(
        app, client, cid, room["room_id"], owner["account_id"], family["account_id"],
        crew["account_id"], crew2["account_id"], manager["account_id"],
    )
    w.owner = auth(token(w.owner_id, openid="o-" + w.owner_id[:8]))
    w.family = auth(token(w.family_id, openid="o-" + w.family_id[:8]))
    w.crew = auth(crew_token(cid, account_id=w.crew_id))
    w.crew2 = auth(crew_token(cid, account_id=w.crew2_id))
    w.manager = auth(manager_token(cid, account_id=w.manager_id))
    w.stranger = auth(token(openid="o-stranger"))
    return w


async def ticket_in(world: World, status: str) -> str:
    """A new ticket of the owner's, taken along the main path to `status`."""
    tid = (await world.ticket())["id"]
    if status == "cancelled":
        await world.ok(world.owner, tid, "cancel")
    elif status != "submitted":
        await world.drive(tid, status)
    return tid
