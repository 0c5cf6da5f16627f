"""Bad input found by fuzzing (schemathesis against the stack on PostgreSQL) that once
answered 500: each answers 4xx in the error shape and changes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from services.repairs.models import Ticket
from tests.repairs.factories import World
from tests.support import client_for


def _nul_refusal(r: Any) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error" and error["details"][0]["type"] == "nul_character"
    return dict(error["details"][0])


async def test_ticket_list_filtered_by_a_category_with_a_nul_is_422(app: Any, world: World):
    async with client_for(app) as c:
        _nul_refusal(await c.get("/repairs", params={"category": "水\x00电"}, headers=world.owner))


async def test_ticket_with_a_nul_in_its_description_is_422_and_not_created(app: Any, world: World):
    # The photo (a PNG, full of NUL bytes) still uploads: multipart bodies are not inspected.
    photo = await world.upload(world.owner)
    r = await world.submit(description="厨房水管\u0000漏水", photo_ids=[photo])
    assert _nul_refusal(r)["field"] == "description"
    async with app.state.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Ticket)) == 0


async def test_an_escaped_backslash_before_u0000_is_ordinary_text(app: Any, world: World):
    # JSON "\\u0000" is the six characters \u0000, not a NUL: no refusal.
    r = await world.submit(description="厨房水管漏水，错误码 \\u0000")
    assert r.status_code == 201, r.text


# Valid ISO datetimes whose instant lies outside the years 1..9999 once in UTC.
UNREPRESENTABLE = ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-01:00"]


async def test_list_and_stats_bounds_beyond_the_representable_range_are_422(app: Any, world: World):
    async with client_for(app) as c:
        for value in UNREPRESENTABLE:
            for bound in ("from", "to"):
                r = await c.get("/repairs", params={"community_id": world.cid, bound: value}, headers=world.manager)
                assert r.status_code == 422, r.text
                assert r.json()["error"]["details"][0]["message"] == "时间超出可表示的范围"
                r = await c.get(f"/communities/{world.cid}/repairs/stats", params={bound: value}, headers=world.manager)
                assert r.status_code == 422, r.text
        # The same instant written in another offset still filters as before.
        r = await c.get("/repairs", params={"community_id": world.cid, "from": "2026-01-01T08:00:00+08:00"}, headers=world.manager)
        assert r.status_code == 200
