"""Roster import and the room picker, through the app."""

from __future__ import annotations

from sqlalchemy import func, select

from services.identity.models import Room
from tests.identity.factories import (
    ZH_HEADER,
    grid,
    identity,
    login,
    new_community,
    outbox,
    room_id,
    roster,
    upload,
    verify_phone,
)
from tests.support import admin_token, assert_error, auth, crew_token, manager_token, token


async def count_rooms(app) -> int:
    async with app.state.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(Room))


async def test_import_creates_rooms_and_the_same_file_twice_changes_nothing(database_urls):
    async with identity(database_urls) as (app, c, _):
        cid = await new_community(c)
        data = roster(grid(buildings=3, units=2, floors=5, per_floor=4))  # 120 rooms
        r = await upload(c, cid, data, manager_token(cid))
        assert r.status_code == 200, r.text
        assert r.json() == {"rooms_created": 120, "rooms_updated": 0, "owners": 120, "bindings_revoked": 0, "bindings_verified": 0}
        assert len(await outbox(app, "identity.room.upserted")) == 120

        again = await upload(c, cid, data, manager_token(cid))
        assert again.json() == {"rooms_created": 0, "rooms_updated": 0, "owners": 120, "bindings_revoked": 0, "bindings_verified": 0}
        assert len(await outbox(app, "identity.room.upserted")) == 120


async def test_room_events_carry_the_documented_payload(database_urls):
    async with identity(database_urls) as (app, c, _):
        cid = await new_community(c)
        rows = [
            ["1", "2", "101", "89.5", "delivered", "李明", "13812341234", "buyer-7"],
            ["1", "2", "101", "89.5", "delivered", "韩梅", "13812349999", "buyer-7"],
            ["3", "", "1", "40", "unsold", "", "", ""],
        ]
        assert (await upload(c, cid, roster(rows), admin_token())).status_code == 200
        payloads = sorted((e.payload for e in await outbox(app, "identity.room.upserted")), key=lambda p: p["label"])
        first, unsold = payloads
        assert set(first) == {
            "community_id", "room_id", "building_id", "building_name", "unit", "room_no", "label",
            "area", "state", "owner_key", "owners",
        }
        assert first["label"] == "1栋2单元101" and first["building_name"] == "1栋" and first["unit"] == "2"
        assert first["area"] == "89.50" and first["state"] == "delivered" and first["owner_key"] == "buyer-7"
        assert first["owners"] == [
            {"owner_key": "buyer-7", "name": "李明", "phone_masked": "138****1234"},
            {"owner_key": "buyer-7", "name": "韩梅", "phone_masked": "138****9999"},
        ]
        assert unsold["unit"] is None and unsold["owner_key"] is None and unsold["owners"] == []
        events = await outbox(app, "identity.room.upserted")
        assert all(e.ordering_key == e.payload["room_id"] for e in events)


async def test_a_changed_line_updates_only_that_room(database_urls):
    async with identity(database_urls) as (_app, c, _):
        cid = await new_community(c)
        rows = grid(1, 1, 2, 2)
        await upload(c, cid, roster(rows), manager_token(cid))
        rows[0][3] = "77.70"
        r = await upload(c, cid, roster(rows), manager_token(cid))
        assert r.json()["rooms_created"] == 0 and r.json()["rooms_updated"] == 1
        tree = (await c.get(f"/communities/{cid}/buildings", headers=auth(token()))).json()
        assert tree["buildings"][0]["units"][0]["rooms"][0]["area"] == "77.70"


async def test_gbk_file_with_chinese_headers_imports(database_urls):
    async with identity(database_urls) as (_app, c, _):
        cid = await new_community(c)
        data = roster([["1", "", "101", "89.50", "已交付", "李明", "13812341234", ""]], ZH_HEADER, "gbk")
        r = await upload(c, cid, data, manager_token(cid))
        assert r.status_code == 200 and r.json()["rooms_created"] == 1
        data = roster([["1", "", "102", "89.50", "已售", "王芳", "13812341235", ""]], ZH_HEADER, "utf-8-sig")
        assert (await upload(c, cid, data, manager_token(cid))).json()["rooms_created"] == 1


async def test_a_file_with_bad_lines_changes_nothing_and_lists_every_line(database_urls):
    async with identity(database_urls) as (app, c, _):
        cid = await new_community(c)
        rows = grid(1, 1, 1, 3)
        rows[1][3] = "abc"
        rows[2][6] = "12345"
        r = await upload(c, cid, roster(rows), manager_token(cid))
        assert r.status_code == 422
        body = r.json()["error"]
        assert body["code"] == "roster_invalid" and "未导入" in body["message"]
        assert [e["line"] for e in body["details"]["errors"]] == [3, 4]
        assert await count_rooms(app) == 0
        assert await outbox(app, "identity.room.upserted") == []


async def test_files_that_are_not_rosters_are_4xx_and_change_nothing(database_urls):
    async with identity(database_urls) as (app, c, _):
        cid = await new_community(c)
        tok = manager_token(cid)
        cases = [
            (b"", 422, "roster_empty"),
            (bytes(range(256)) * 10, 422, "roster_not_csv"),
            (b"building;unit;room;area;state;owner_name;owner_phone\r\n1;;101;89;sold;a;13812341234\r\n", 422, "roster_bad_delimiter"),
            (b"a,b\r\n1,2\r\n", 422, "roster_bad_header"),
        ]
        for data, status, code in cases:
            r = await upload(c, cid, data, tok)
            assert_error(r, status, code)
            assert r.json()["error"]["details"]["errors"][0]["reason"]
        huge = b"x" * (11 * 1024 * 1024)
        r = await upload(c, cid, huge, tok)
        assert_error(r, 413, "payload_too_large")
        r = await c.post(f"/communities/{cid}/roster", headers=auth(tok))
        assert_error(r, 422, "validation_error")
        assert await count_rooms(app) == 0


async def test_only_managers_of_that_community_import(database_urls):
    async with identity(database_urls) as (app, c, _):
        a, b = await new_community(c, "A"), await new_community(c, "B")
        data = roster(grid(1, 1, 1, 1))
        for tok in (manager_token(a), crew_token(b), token()):
            r = await upload(c, b, data, tok)
            assert_error(r, 404, "community_not_found")
        assert (await upload(c, "no-such-community", data, admin_token())).status_code == 404
        assert await count_rooms(app) == 0


async def test_the_room_picker_tree_sorts_as_people_count(database_urls):
    async with identity(database_urls) as (_app, c, fake):
        cid = await new_community(c)
        rows = [
            ["10", "1", "101", "80", "delivered", "甲", "13800000001", ""],
            ["2", "1", "1001", "80", "delivered", "乙", "13800000002", ""],
            ["2", "1", "201", "80", "delivered", "丙", "13800000003", ""],
            ["2", "", "1", "80", "unsold", "", "", ""],
        ]
        await upload(c, cid, roster(rows), manager_token(cid))
        me = await login(c, fake, "o-picker")
        tree = (await c.get(f"/communities/{cid}/buildings", headers=auth(me["access_token"]))).json()
        assert [b["name"] for b in tree["buildings"]] == ["2栋", "10栋"]
        units = tree["buildings"][0]["units"]
        assert [u["unit"] for u in units] == [None, "1"]
        assert [r["room_no"] for r in units[1]["rooms"]] == ["201", "1001"]
        assert "owners" not in str(tree) and "138" not in str(tree)
        assert (await c.get("/communities/nope/buildings", headers=auth(me["access_token"]))).status_code == 404


async def test_a_new_owner_on_the_roster_revokes_bindings_that_no_longer_match(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await new_community(c)
        rows = [["1", "", "101", "89.50", "delivered", "李明", "13812341234", ""]]
        await upload(c, cid, roster(rows), manager_token(cid))
        owner = await login(c, fake, "o-liming")
        rid = await room_id(c, cid, "1栋101", owner["access_token"])
        await verify_phone(c, fake, owner["access_token"], "13812341234")
        bound = await c.post(
            "/me/bindings",
            json={"room_id": rid, "relation": "owner", "name": "李明", "phone": "13812341234"},
            headers=auth(owner["access_token"]),
        )
        assert bound.json()["status"] == "verified"
        invite = await c.post(
            f"/me/bindings/{bound.json()['id']}/invitations", json={"relation": "family"},
            headers=auth(owner["access_token"]),
        )
        family = await login(c, fake, "o-family")
        fam = await c.post(
            "/me/bindings/accept-invitation",
            json={"invite_code": invite.json()["invite_code"], "name": "李小明", "phone": "13900000000"},
            headers=auth(family["access_token"]),
        )
        assert fam.json()["status"] == "verified"

        rows[0][5:7] = ["赵六", "13700000000"]
        r = await upload(c, cid, roster(rows), manager_token(cid))
        assert r.json()["rooms_updated"] == 1 and r.json()["bindings_revoked"] == 2
        revoked = await outbox(app, "identity.binding.revoked")
        assert {e.payload["binding_id"] for e in revoked} == {bound.json()["id"], fam.json()["id"]}
        assert {e.payload["reason"] for e in revoked} == {"roster_changed", "owner_binding_revoked"}
        me = (await c.get("/me", headers=auth(owner["access_token"]))).json()
        assert me["bindings"][0]["status"] == "revoked"


async def test_a_corrected_roster_verifies_the_pending_request_it_now_matches(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await new_community(c)
        rows = [["1", "", "101", "89.50", "delivered", "李明", "13812341234", ""]]
        await upload(c, cid, roster(rows), manager_token(cid))
        owner = await login(c, fake, "o-typo")
        rid = await room_id(c, cid, "1栋101", owner["access_token"])
        await verify_phone(c, fake, owner["access_token"], "13812340000")
        pending = await c.post(
            "/me/bindings",
            json={"room_id": rid, "relation": "owner", "name": "李明", "phone": "13812340000"},
            headers=auth(owner["access_token"]),
        )
        assert pending.json()["status"] == "pending"
        rows[0][6] = "13812340000"  # the office fixes the typo in the roster
        r = await upload(c, cid, roster(rows), manager_token(cid))
        assert r.json()["bindings_verified"] == 1 and r.json()["bindings_revoked"] == 0
        (event,) = await outbox(app, "identity.binding.verified")
        assert event.payload["binding_id"] == pending.json()["id"]
        assert event.payload["display_name"] == "1栋101李明"


async def test_only_platform_admins_create_communities_and_each_creation_is_an_event(database_urls):
    async with identity(database_urls) as (app, c, _):
        cid = await new_community(c, "翠湖苑")
        (event,) = await outbox(app, "identity.community.created")
        assert event.payload == {"community_id": cid, "name": "翠湖苑"} and event.ordering_key == cid
        r = await c.post("/communities", json={"name": "x"}, headers=auth(manager_token(cid)))
        assert r.status_code == 403
        r = await c.post("/communities", json={"name": ""}, headers=auth(admin_token()))
        assert r.status_code == 422
        listing = await c.get("/communities", headers=auth(token()))
        assert [x["name"] for x in listing.json()["items"]] == ["翠湖苑"]
