"""A roster header costs linear time whatever is in it, and an import decodes and parses the
file off the event loop: a hostile file from one community never stalls logins for others."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from services.identity import roster_format
from tests.identity.factories import ZH_HEADER, identity, new_community, roster, upload
from tests.support import assert_error, manager_token

ROWS = [["1", "", "101", "89.50", "delivered", "李明", "13812341234", ""]]


@pytest.mark.parametrize(
    ("cell", "column"),
    [
        ("面积", "area"),
        ("面积(m²)", "area"),
        ("面积（平方米）", "area"),
        ("手机号(必填)", "owner_phone"),
        ("Owner_Phone (mobile)", "owner_phone"),
        (" 房号 ", "room"),
        ("业主姓名（主）（副）", "owner_name"),
        ("(面积)", ""),
        ("面积(", ""),
        ("面积)", ""),
        ("楼栋)(x)", ""),
    ],
)
def test_a_trailing_note_in_brackets_is_dropped_from_a_header_cell(cell: str, column: str) -> None:
    assert roster_format._header_key(cell) == column


@pytest.mark.parametrize(
    "cell",
    ["(" * 50_000, "（" * 50_000, "(" * 50_000 + ")", "(" + "x" * 49_999, "(）" * 25_000, "面积" + "(" * 50_000 + ")"],
)
def test_a_hostile_header_cell_costs_linear_time(cell: str) -> None:
    started = time.perf_counter()
    roster_format._header_key(cell)
    # The old lazy pattern took ~25 s on 50,000 opening brackets; linear work takes ~1 ms.
    assert time.perf_counter() - started < 0.1


async def test_a_hostile_header_is_refused_with_the_normal_422_at_once(database_urls):
    async with identity(database_urls) as (_app, c, _fake):
        cid = await new_community(c)
        hostile = roster(ROWS, header=["(" * 50_000] * 8)
        started = time.perf_counter()
        r = await upload(c, cid, hostile, manager_token(cid))
        assert time.perf_counter() - started < 1.0
        assert_error(r, 422, "roster_bad_header")
        # A hostile extra column next to the real ones is ignored, just as fast.
        extra = roster([[*row, ""] for row in ROWS], header=[*ZH_HEADER, "(" * 50_000])
        started = time.perf_counter()
        r = await upload(c, cid, extra, manager_token(cid))
        assert time.perf_counter() - started < 1.0
        assert r.status_code == 200 and r.json()["rooms_created"] == 1, r.text


async def test_a_slow_roster_parse_does_not_block_other_requests_meanwhile(database_urls, monkeypatch):
    """The parse is held until other requests have been answered. On the event loop it could
    not be: they would wait for the parse, which gives up waiting after 5 s. Nor inside the
    import's transaction: on SQLite its first query (the community's check) takes the write
    lock (BEGIN IMMEDIATE), and a login, which writes, would queue behind the parse."""
    entered = threading.Event()
    released = threading.Event()
    seen: dict[str, bool] = {}
    real_parse = roster_format.parse_roster

    def held_parse(text: str) -> roster_format.RosterParse:
        entered.set()
        seen["answered_during_parse"] = released.wait(timeout=5)
        return real_parse(text)

    monkeypatch.setattr(roster_format, "parse_roster", held_parse)
    async with identity(database_urls) as (_app, c, fake):
        cid = await new_community(c)
        importing = asyncio.create_task(upload(c, cid, roster(ROWS), manager_token(cid)))
        for _ in range(500):
            if entered.is_set():
                break
            await asyncio.sleep(0.01)
        assert entered.is_set()
        alive = await asyncio.wait_for(c.get("/healthz"), timeout=5)
        assert alive.status_code == 200
        code = await fake.login_code("o-elsewhere")
        login = await asyncio.wait_for(c.post("/auth/wechat-login", json={"code": code}), timeout=5)
        assert login.status_code == 200, login.text
        released.set()
        imported = await importing
        assert imported.status_code == 200, imported.text
    assert seen == {"answered_during_parse": True}
