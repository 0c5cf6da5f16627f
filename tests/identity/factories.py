"""Small async factories for identity tests: communities, rosters, WeChat users, events."""

from __future__ import annotations

import csv
import io
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import select

from services.common.events.models import OutboxEvent
from tests.identity.wechat_fake import WeChatForTests, install
from tests.support import admin_token, auth, client_for, manager_token, running_app

EN_HEADER = ["building", "unit", "room", "area", "state", "owner_name", "owner_phone", "owner_key"]
ZH_HEADER = ["楼栋", "单元", "房号", "面积", "状态", "业主姓名", "手机号", "业主标识"]


def roster(rows: list[list[str]], header: list[str] = EN_HEADER, encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def grid(buildings: int, units: int, floors: int, per_floor: int) -> list[list[str]]:
    """A regular community: every room delivered, one owner each."""
    rows = []
    n = 0
    for b in range(1, buildings + 1):
        for u in range(1, units + 1):
            for f in range(1, floors + 1):
                for r in range(1, per_floor + 1):
                    n += 1
                    rows.append(
                        [str(b), str(u), f"{f}{r:02d}", f"{80 + n % 50}.{n % 100:02d}", "delivered",
                         f"业主{n}", f"139{n:08d}", ""]
                    )
    return rows


@asynccontextmanager
async def identity(database_urls: dict[str, str], **overrides: Any):
    async with running_app("identity", database_urls["identity"], **overrides) as app:
        fake = install(app)
        async with client_for(app) as c:
            yield app, c, fake


async def new_community(c: httpx.AsyncClient, name: str = "阳光花园") -> str:
    r = await c.post("/communities", json={"name": name}, headers=auth(admin_token()))
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def upload(c: httpx.AsyncClient, cid: str, data: bytes, tok: str, filename: str = "roster.csv") -> httpx.Response:
    return await c.post(
        f"/communities/{cid}/roster", files={"file": (filename, data, "text/csv")}, headers=auth(tok)
    )


async def login(c: httpx.AsyncClient, fake: WeChatForTests, openid: str) -> dict[str, Any]:
    r = await c.post("/auth/wechat-login", json={"code": await fake.login_code(openid)})
    assert r.status_code == 200, r.text
    return r.json()


async def room_id(c: httpx.AsyncClient, cid: str, label: str, tok: str) -> str:
    tree = (await c.get(f"/communities/{cid}/buildings", headers=auth(tok))).json()
    for b in tree["buildings"]:
        for u in b["units"]:
            for r in u["rooms"]:
                if r["label"] == label:
                    return r["id"]
    raise AssertionError(f"no room {label}")


async def outbox(app: Any, type_: str | None = None) -> list[OutboxEvent]:
    async with app.state.sessionmaker() as s:
        q = select(OutboxEvent).order_by(OutboxEvent.created_at, OutboxEvent.id)
        if type_:
            q = q.where(OutboxEvent.type == type_)
        return list((await s.scalars(q)).all())


TWO_ROOMS = [
    ["1", "", "101", "89.50", "delivered", "李明", "13812341234", ""],
    ["1", "", "102", "95.00", "delivered", "王芳", "13812345678", ""],
]


async def setup_community(
    c: httpx.AsyncClient, name: str = "阳光花园", rows: list[list[str]] = TWO_ROOMS
) -> str:
    """A community with its roster imported (two delivered rooms with one owner each)."""
    cid = await new_community(c, name)
    r = await upload(c, cid, roster(rows), manager_token(cid))
    assert r.status_code == 200, r.text
    return cid


async def bind(
    c: httpx.AsyncClient,
    tok: str,
    rid: str,
    relation: str = "owner",
    name: str = "李明",
    phone: str = "13812341234",
) -> httpx.Response:
    return await c.post(
        "/me/bindings",
        json={"room_id": rid, "relation": relation, "name": name, "phone": phone},
        headers=auth(tok),
    )
async def verify_phone(c: httpx.AsyncClient, fake: WeChatForTests, tok: str, phone: str) -> None:
    """The Mini Program's getPhoneNumber step: WeChat vouches for the account's phone."""
    r = await c.post("/me/phone", json={"code": await fake.phone_code(phone)}, headers=auth(tok))
    assert r.status_code == 200, r.text
