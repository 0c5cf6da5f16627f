"""The care list (services/notices/care.py): managers flag households, staff reveal a
contact's full phone only with a reason that is recorded, flagged households come first in an
emergency's unread list, and flags go with the household's last binding."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.notices.models import CareHousehold, CareReveal
from tests.common.identity_replica import factories as ie
from tests.notices.factories import NOON, Community, notice_body, notices_app, set_clock
from tests.support import assert_error, auth, client_for, crew_token

FLAG = {"categories": ["elderly", "living_alone"], "note": "行动不便", "contact_name": "李小明", "contact_phone": "13912345678"}


async def _count(app, model) -> int:
    from sqlalchemy import func, select

    async with app.state.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_manager_flags_staff_reveal_with_a_recorded_reason_phone_masked_elsewhere(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        room = await c.room("1", "101")
        await c.member(room)
        crew_id = str(uuid.uuid4())
        await ie.staff(app, c.id, crew_id, name="王师傅")
        crew = auth(crew_token(c.id, account_id=crew_id))
        q = f"?community_id={c.id}"

        r = await client.put(f"/care-list/{room['room_id']}{q}", json=FLAG, headers=c.manager)
        assert r.status_code == 200, r.text
        assert r.json()["contact_phone_masked"] == "139****5678" and "13912345678" not in r.text
        listed = (await client.get(f"/care-list{q}", headers=crew)).json()
        assert [(i["label"], i["categories"]) for i in listed["items"]] == [("1栋101", ["elderly", "living_alone"])]
        assert "13912345678" not in str(listed)

        # A reason is required: nothing revealed, nothing recorded.
        for reason in ("", "  ", "a"):
            assert_error(await client.post(f"/care-list/{room['room_id']}/reveal{q}", json={"reason": reason}, headers=crew), 422, "reveal_reason_required")
        assert await _count(app, CareReveal) == 0
        r = await client.post(f"/care-list/{room['room_id']}/reveal{q}", json={"reason": "燃气泄漏后电话回访"}, headers=crew)
        assert r.status_code == 200 and r.json()["contact_phone"] == "13912345678"

        log = (await client.get(f"/care-list/reveals{q}", headers=c.manager)).json()["items"]
        assert [(x["revealed_by"], x["revealed_by_name"], x["reason"], x["room_label"]) for x in log] == [
            (crew_id, "王师傅", "燃气泄漏后电话回访", "1栋101")
        ]
        # The record is the managers'; crews and owners see no list, others no community.
        assert_error(await client.get(f"/care-list/reveals{q}", headers=crew), 404, "community_not_found")
        _, owner = await c.member(await c.room("1", "102"))
        for path in (f"/care-list{q}", f"/care-list/reveals{q}"):
            assert_error(await client.get(path, headers=owner), 404, "community_not_found")
        assert_error(await client.post(f"/care-list/{room['room_id']}/reveal{q}", json={"reason": "回访"}, headers=owner), 404)
        assert_error(await client.put(f"/care-list/{room['room_id']}{q}", json=FLAG, headers=crew), 404)
        assert_error(await client.put(f"/care-list/{room['room_id']}?community_id={uuid.uuid4()}", json=FLAG, headers=c.manager), 404)


async def test_bad_flags_are_refused_and_nothing_changes(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        room = await c.room("1", "101")
        empty = await c.room("1", "102")  # nobody bound: not a household
        await c.member(room)
        q = f"?community_id={c.id}"
        assert_error(await client.put(f"/care-list/{room['room_id']}{q}", json={**FLAG, "categories": ["rich"]}, headers=c.manager), 422)
        assert_error(await client.put(f"/care-list/{room['room_id']}{q}", json={**FLAG, "contact_phone": "12345"}, headers=c.manager), 422)
        assert_error(await client.put(f"/care-list/{empty['room_id']}{q}", json=FLAG, headers=c.manager), 404, "room_not_found")
        assert_error(await client.put(f"/care-list/nowhere{q}", json=FLAG, headers=c.manager), 404, "room_not_found")
        assert_error(await client.post(f"/care-list/{room['room_id']}/reveal{q}", json={"reason": "回访"}, headers=c.manager), 404, "care_household_not_found")
        assert await _count(app, CareHousehold) == 0 and await _count(app, CareReveal) == 0


async def test_emergency_unread_list_puts_flagged_households_first(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        rooms = [await c.room("1", n) for n in ("101", "102", "103")]
        for r in rooms:
            await c.member(r)
        q = f"?community_id={c.id}"
        assert (await client.put(f"/care-list/{rooms[2]['room_id']}{q}", json=FLAG, headers=c.manager)).status_code == 200
        body = notice_body(c, category="emergency", title="燃气泄漏", body="请勿使用明火", expires_at=(NOON + timedelta(hours=6)).isoformat())
        nid = (await client.post("/notices", json=body, headers=c.manager)).json()["id"]
        assert (await client.post(f"/notices/{nid}/publish", headers=c.manager)).status_code == 200
        unread = (await client.get(f"/notices/{nid}/receipts", headers=c.manager)).json()["unread"]
        assert [(u["label"], u["care_categories"]) for u in unread] == [
            ("1栋103", ["elderly", "living_alone"]), ("1栋101", []), ("1栋102", []),
        ]


async def test_flag_goes_when_the_household_has_no_verified_member_left(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        kept, revoked, deleted = [await c.room("1", n) for n in ("101", "102", "103")]
        await ie.binding(app, c.id, kept["room_id"])
        family = await ie.binding(app, c.id, kept["room_id"], relation="family")
        gone = await ie.binding(app, c.id, revoked["room_id"])
        leaver = await ie.binding(app, c.id, deleted["room_id"])
        q = f"?community_id={c.id}"
        for r in (kept, revoked, deleted):
            assert (await client.put(f"/care-list/{r['room_id']}{q}", json=FLAG, headers=c.manager)).status_code == 200
        await ie.revoke(app, family)  # the owner stays: still a household
        await ie.revoke(app, gone)
        await ie.account_deleted(app, c.id, leaver["account_id"])
        listed = (await client.get(f"/care-list{q}", headers=c.manager)).json()["items"]
        assert [i["room_id"] for i in listed] == [kept["room_id"]]

