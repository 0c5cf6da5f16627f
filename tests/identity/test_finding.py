"""Finding one's community and room, and binding with the verified phone only
(services/identity/scenes.py, contact_card.py, places.py, bindings.py, home.py; the rules
`claim_identity`, `like_pattern`, `is_scene_code`)."""

from __future__ import annotations

import pytest

from services.identity import rules
from services.identity.models import CommunityScene
from tests.identity.factories import identity, login, room_id, setup_community, verify_phone
from tests.support import admin_token, assert_error, auth, manager_token

OWNERS = [{"name": "李明", "phone": "13812341234"}, {"name": "王芳", "phone": "13900001111"}]


@pytest.mark.parametrize(
    ("relation", "name", "phone", "verified", "account_name", "expected"),
    [
        ("owner", "李 明", "138-1234-1234", None, None, ("李明", "13812341234")),  # typed: as typed
        ("owner", None, None, "13900001111", None, ("王芳", "13900001111")),  # roster's name
        ("owner", None, None, "13000000000", "小张", ("小张", "13000000000")),  # not listed: own name
        ("owner", None, None, "13000000000", None, (rules.UNNAMED, "13000000000")),
        ("family", None, None, "13900001111", "王小芳", ("王小芳", "13900001111")),  # never the owner's
        ("owner", "李明", None, "13812341234", None, ("李明", "13812341234")),
        ("owner", None, "13812341234", None, None, None),  # nothing vouches for the rest
        ("owner", None, None, None, "小张", None),
    ],
)
def test_claim_identity_fills_what_was_left_out_from_the_verified_phone(
    relation, name, phone, verified, account_name, expected
):
    assert rules.claim_identity(relation, OWNERS, name, phone, verified, account_name) == expected


@pytest.mark.parametrize(
    ("query", "pattern"),
    [("花园", "%花园%"), ("100%", "%100\\%%"), ("a_b", "%a\\_b%"), ("c\\d", "%c\\\\d%")],
)
def test_like_pattern_takes_wildcards_literally(query, pattern):
    assert rules.like_pattern(query) == pattern


@pytest.mark.parametrize(
    ("scene", "ok"), [("aB3dE5fG7hJ9", True), ("x" * 32, True), ("x" * 33, False), ("a-b", False), ("", False)]
)
def test_scene_codes_are_what_wechat_allows(scene, ok):
    assert rules.is_scene_code(scene) is ok


async def test_a_managers_qr_code_lands_on_the_community_without_login(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        mgr = auth(manager_token(cid))
        first = await c.post(f"/communities/{cid}/scenes", json={}, headers=mgr)
        again = await c.post(f"/communities/{cid}/scenes", json={}, headers=mgr)
        assert first.status_code == 200 and first.json()["scene"] == again.json()["scene"]
        assert rules.is_scene_code(first.json()["scene"])
        landing = await c.get(f"/scenes/{first.json()['scene']}")
        assert landing.status_code == 200
        assert landing.json() == {"community": {"id": cid, "name": "阳光花园", "city": None},
                                  "building": None, "contact": None}
        assert_error(await c.get("/scenes/NOPE1234"), 404, "scene_not_found")
        assert_error(await c.get("/scenes/bad-code!"), 404, "scene_not_found")
        # A building of another community, and other communities' managers, are refused.
        other = await setup_community(c, "别处")
        tree = (await c.get(f"/communities/{other}/buildings", headers=auth(manager_token(other)))).json()
        foreign_building = tree["buildings"][0]["id"]
        assert_error(await c.post(f"/communities/{cid}/scenes", json={"building_id": foreign_building},
                                  headers=mgr), 404, "building_not_found")
        assert_error(await c.post(f"/communities/{cid}/scenes", json={}, headers=auth(manager_token(other))),
                     404, "community_not_found")
        listed = await c.get(f"/communities/{cid}/scenes", headers=mgr)
        assert [s["scene"] for s in listed.json()] == [first.json()["scene"]]
        async with app.state.sessionmaker() as s:
            assert await s.get(CommunityScene, first.json()["scene"]) is not None


async def test_communities_are_searched_by_name_and_city(database_urls):
    async with identity(database_urls) as (app, c, fake):
        admin = auth(admin_token())
        made = {}
        for name, city in [("西溪花园", "杭州市"), ("滨江花园", "杭州市"), ("人民小区", "上海市")]:
            r = await c.post("/communities", json={"name": name, "city": city}, headers=admin)
            assert r.status_code == 201 and r.json()["city"] == city
            made[name] = r.json()["id"]
        me = auth((await login(c, fake, "o-search"))["access_token"])

        async def names(q: str, **params) -> list[str]:
            r = await c.get("/communities", params={"q": q, **params}, headers=me)
            assert r.status_code == 200, r.text
            return sorted(i["name"] for i in r.json()["items"])

        assert await names("花园") == ["滨江花园", "西溪花园"]
        assert await names("上海") == ["人民小区"]
        assert await names("%") == [] and await names("_") == []
        page = (await c.get("/communities", params={"q": "杭州", "limit": 1}, headers=me)).json()
        rest = (await c.get("/communities", params={"q": "杭州", "cursor": page["next_cursor"]}, headers=me)).json()
        assert len(page["items"]) == 1 and len(rest["items"]) == 1 and rest["next_cursor"] is None
        assert (await c.get("/communities", params={"q": "x" * 51}, headers=me)).status_code == 422


async def test_the_room_picker_loads_buildings_then_one_building(database_urls):
    rows = [["1", "1", "101", "90.00", "delivered", "李明", "13812341234", ""],
            ["1", "2", "201", "90.00", "delivered", "王芳", "13900001111", ""],
            ["10", "", "1001", "90.00", "unsold", "", "", ""],
            ["2", "", "201", "90.00", "delivered", "赵六", "13700001111", ""]]
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c, rows=rows)
        me = auth((await login(c, fake, "o-picker"))["access_token"])
        listed = (await c.get(f"/communities/{cid}/buildings", params={"rooms": "false"}, headers=me)).json()
        assert [(b["name"], b["room_count"], b["units"]) for b in listed["buildings"]] == [
            ("1栋", 2, []), ("2栋", 1, []), ("10栋", 1, [])]
        first = listed["buildings"][0]["id"]
        one = (await c.get(f"/communities/{cid}/buildings/{first}", headers=me)).json()
        assert [(u["unit"], [r["label"] for r in u["rooms"]]) for u in one["units"]] == [
            ("1", ["1栋1单元101"]), ("2", ["1栋2单元201"])]
        # The whole tree, as older clients ask for it, is unchanged apart from the counts.
        tree = (await c.get(f"/communities/{cid}/buildings", headers=me)).json()
        assert tree["buildings"][0]["units"] == one["units"] and tree["buildings"][0]["room_count"] == 2
        other = await setup_community(c, "别处")
        assert_error(await c.get(f"/communities/{other}/buildings/{first}", headers=me), 404, "building_not_found")


async def test_binding_with_the_verified_phone_needs_only_room_and_relation(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        me = await login(c, fake, "o-phone")
        tok = me["access_token"]
        rid = await room_id(c, cid, "1栋101", tok)
        r = await c.post("/me/bindings", json={"room_id": rid, "relation": "owner"}, headers=auth(tok))
        assert_error(r, 422, "phone_not_verified")
        await verify_phone(c, fake, tok, "13812341234")
        r = await c.post("/me/bindings", json={"room_id": rid, "relation": "owner"}, headers=auth(tok))
        assert r.status_code == 201 and r.json()["status"] == "verified" and r.json()["name"] == "李明"
        # The home part: the caller's rooms; strangers to the community get 404.
        home = await c.get("/internal/home", params={"community_id": cid}, headers=auth(tok))
        assert [(x["room_label"], x["status"]) for x in home.json()["rooms"]] == [("1栋101", "verified")]
        stranger = (await login(c, fake, "o-stranger"))["access_token"]
        assert_error(await c.get("/internal/home", params={"community_id": cid}, headers=auth(stranger)),
                     404, "community_not_found")
        staff = await c.get("/internal/home", params={"community_id": cid}, headers=auth(manager_token(cid)))
        assert staff.status_code == 200 and staff.json()["rooms"] == []


async def test_contact_card_is_set_by_managers_and_read_by_members(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        mgr = auth(manager_token(cid))
        me = await login(c, fake, "o-card")
        tok = me["access_token"]
        assert_error(await c.get(f"/communities/{cid}/contact-card", headers=mgr), 404, "contact_card_not_found")
        card = {"service_phone": "0571-88886666", "office_hours": "8:00-18:00",
                "emergency_numbers": [{"label": "消防", "phone": "119"}], "group_rules": "文明发言"}
        assert (await c.put(f"/communities/{cid}/contact-card", json=card, headers=mgr)).status_code == 200
        assert_error(await c.get(f"/communities/{cid}/contact-card", headers=auth(tok)), 404, "community_not_found")
        await verify_phone(c, fake, tok, "13812341234")
        rid = await room_id(c, cid, "1栋101", tok)
        await c.post("/me/bindings", json={"room_id": rid, "relation": "owner"}, headers=auth(tok))
        shown = (await c.get(f"/communities/{cid}/contact-card", headers=auth(tok))).json()
        assert shown["group_rules"] == "文明发言" and shown["emergency_numbers"] == card["emergency_numbers"]
        bad = await c.put(f"/communities/{cid}/contact-card", json={"emergency_numbers": [{"label": "", "phone": "1"}]},
                          headers=mgr)
        assert_error(bad, 422)
        assert (await c.get(f"/communities/{cid}/contact-card", headers=mgr)).json()["office_hours"] == "8:00-18:00"
