"""Activities with sign-up (services/notices/activities.py, activity_reminders.py): capacity,
deadline, per-household limit, a waitlist that moves up in order, check-in by staff, the
reminder before the start, the organiser's list and its formula-safe export."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from services.common.pagination import encode_cursor
from services.notices.activity_listing import upcoming_activities
from services.notices.activity_reminders import tick as reminder_tick
from services.notices.models import ActivitySignup, InboxEntry
from tests.notices.factories import NOON, Community, notices_app, published_notice, set_clock
from tests.support import assert_error, auth, client_for, crew_token

STARTS = NOON + timedelta(days=2)


async def activity(client, c: Community, **overrides) -> dict:
    notice = await published_notice(client, c, category="activity", title="社区义诊", body="周六上午社区义诊")
    body = {"notice_id": notice["id"], "location": "社区活动中心", "starts_at": STARTS.isoformat(),
            "signup_deadline": (STARTS - timedelta(days=1)).isoformat(), "capacity": 3,
            "per_household_limit": 2} | overrides
    r = await client.post("/activities", json=body, headers=c.manager)
    assert r.status_code == 201, r.text
    return r.json()


async def signups(app, activity_id: str, status: str) -> int:
    async with app.state.sessionmaker() as s:
        return int(await s.scalar(
            select(func.coalesce(func.sum(ActivitySignup.people), 0)).where(
                ActivitySignup.activity_id == activity_id, ActivitySignup.status == status)) or 0)


async def test_sign_up_confirms_until_capacity_then_waitlists_and_moves_up_on_cancellation(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        members = []
        for n in range(4):
            room = await c.room("1", f"10{n}")
            members.append((room, (await c.member(room))[1]))
        a = await activity(client, c)
        url = f"/activities/{a['id']}/signups"

        first = await client.post(url, json={"room_id": members[0][0]["room_id"], "people": 2}, headers=members[0][1])
        assert first.status_code == 201 and first.json()["status"] == "confirmed", first.text
        second = await client.post(url, json={"room_id": members[1][0]["room_id"], "people": 2}, headers=members[1][1])
        assert second.json()["status"] == "waitlisted"  # 2 + 2 > 3
        third = await client.post(url, json={"room_id": members[2][0]["room_id"], "people": 1}, headers=members[2][1])
        assert third.json()["status"] == "waitlisted"  # nobody overtakes the waitlist
        mine = (await client.get(f"/activities/{a['id']}", headers=members[1][1])).json()
        assert mine["my_signup"]["status"] == "waitlisted" and mine["places_left"] == 1

        # The confirmed household cancels: the waitlist moves up in order and hears of it.
        r = await client.delete(f"{url}/mine", headers=members[0][1])
        assert r.status_code == 200 and r.json()["moved_up"] == 2, r.text
        assert (await signups(app, a["id"], "confirmed"), await signups(app, a["id"], "waitlisted")) == (3, 0)
        inbox = (await client.get("/inbox", headers=members[1][1])).json()["items"]
        assert "activity_confirmed" in [e["kind"] for e in inbox]

        # Signing up twice, past the household limit, for someone else's room: refused, nothing changes.
        assert_error(await client.post(url, json={"room_id": members[1][0]["room_id"]}, headers=members[1][1]), 409, "already_signed_up")
        assert_error(await client.post(url, json={"room_id": members[0][0]["room_id"]}, headers=members[3][1]), 422, "room_not_yours")
        _, second_member = await c.member(members[1][0], "family")
        assert_error(await client.post(url, json={"room_id": members[1][0]["room_id"]}, headers=second_member), 409, "household_limit_exceeded")
        set_clock(app, STARTS - timedelta(hours=12))
        assert_error(await client.post(url, json={"room_id": members[3][0]["room_id"]}, headers=members[3][1]), 409, "signup_closed")
        assert (await signups(app, a["id"], "confirmed"), await signups(app, a["id"], "waitlisted")) == (3, 0)


async def test_concurrent_sign_ups_never_exceed_capacity_and_cancellations_fill_it_in_order(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        people = []
        for n in range(12):
            room = await c.room("1", f"{100 + n}")
            people.append((room, (await c.member(room))[1]))
        a = await activity(client, c, capacity=5, per_household_limit=1)
        url = f"/activities/{a['id']}/signups"

        results = await asyncio.gather(*(client.post(url, json={"room_id": r["room_id"]}, headers=h) for r, h in people))
        assert all(r.status_code == 201 for r in results), [r.text for r in results]
        assert sorted(r.json()["status"] for r in results).count("confirmed") == 5
        confirmed = [h for (r, h), res in zip(people, results, strict=True) if res.json()["status"] == "confirmed"]
        cancels = await asyncio.gather(*(client.delete(f"{url}/mine", headers=h) for h in confirmed[:3]))
        assert all(r.status_code == 200 for r in cancels)
        assert (await signups(app, a["id"], "confirmed"), await signups(app, a["id"], "waitlisted")) == (5, 4)
        listing = (await client.get(f"{url}?limit=100", headers=c.manager)).json()["items"]
        waiting = [s for s in listing if s["status"] == "waitlisted"]
        assert waiting == sorted(waiting, key=lambda s: s["created_at"])


async def test_staff_check_in_by_code_or_list_and_the_export_is_formula_safe(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        room = await c.room("1", "101")
        hostile = await c.room("=1+1", "102")
        _, owner = await c.member(room)
        _, other = await c.member(hostile)
        a = await activity(client, c)
        url = f"/activities/{a['id']}/signups"
        one = (await client.post(url, json={"room_id": room["room_id"]}, headers=owner)).json()
        two = (await client.post(url, json={"room_id": hostile["room_id"], "people": 2}, headers=other)).json()
        crew = auth(crew_token(c.id))
        checkin = f"/activities/{a['id']}/check-ins"
        r = await client.post(checkin, json={"code": one["code"]}, headers=crew)
        assert r.status_code == 200 and r.json()["checked_in_at"], r.text
        assert_error(await client.post(checkin, json={"code": one["code"]}, headers=crew), 409, "already_checked_in")
        assert (await client.post(checkin, json={"signup_id": two["id"]}, headers=crew)).status_code == 200
        assert_error(await client.post(checkin, json={"code": "000000x"}, headers=crew), 404, "signup_not_found")
        assert_error(await client.post(checkin, json={}, headers=crew), 422)
        assert_error(await client.post(checkin, json={"code": one["code"]}, headers=owner), 404, "activity_not_found")

        assert_error(await client.get(f"{url}?format=csv", headers=crew), 404, "activity_not_found")
        export = await client.get(f"{url}?format=csv", headers=c.manager)
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
        assert rows[0] == ["房屋", "报名人", "人数", "状态", "报名时间", "签到码", "签到时间"]
        assert sorted(r[0] for r in rows[1:]) == ["'=1+1栋102", "1栋101"]


async def test_reminder_goes_once_to_confirmed_sign_ups_before_the_start(database_urls):
    async with notices_app(database_urls["notices"], activity_reminder_minutes=120) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        rooms = [await c.room("1", n) for n in ("101", "102")]
        (in_id, inside), (out_id, outside) = [await c.member(r) for r in rooms]
        a = await activity(client, c, capacity=1, per_household_limit=1)
        url = f"/activities/{a['id']}/signups"
        assert (await client.post(url, json={"room_id": rooms[0]["room_id"]}, headers=inside)).json()["status"] == "confirmed"
        assert (await client.post(url, json={"room_id": rooms[1]["room_id"]}, headers=outside)).json()["status"] == "waitlisted"
        assert await reminder_tick(app) == 0  # two days ahead
        set_clock(app, STARTS - timedelta(minutes=90))
        assert await reminder_tick(app) == 1
        assert await reminder_tick(app) == 0
        async with app.state.sessionmaker() as s:
            got = (await s.scalars(select(InboxEntry.account_id).where(InboxEntry.kind == "activity_reminder"))).all()
        assert list(got) == [in_id]
        del out_id


async def test_owners_see_upcoming_targeted_activities_and_bad_settings_are_refused(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        room = await c.room("1", "101")
        owner_id, owner = await c.member(room)
        a = await activity(client, c)
        listed = (await client.get(f"/activities?community_id={c.id}", headers=owner)).json()
        assert [x["id"] for x in listed["items"]] == [a["id"]] and listed["items"][0]["places_left"] == 3
        async with app.state.sessionmaker() as s:
            home = await upcoming_activities(s, c.id, owner_id, 3, now=NOON)
        assert [x["id"] for x in home] == [a["id"]]
        stranger = auth(crew_token(str(uuid.uuid4())))
        assert (await client.get(f"/activities?community_id={c.id}", headers=stranger)).json()["items"] == []
        assert_error(await client.get(f"/activities/{a['id']}", headers=stranger), 404, "activity_not_found")

        notice = await published_notice(client, c, category="activity", title="篮球赛", body="周日篮球赛")
        base = {"notice_id": notice["id"], "location": "球场", "starts_at": STARTS.isoformat(),
                "signup_deadline": (STARTS - timedelta(hours=1)).isoformat(), "capacity": 10}
        for bad in ({"signup_deadline": (STARTS + timedelta(hours=1)).isoformat()},
                    {"starts_at": (NOON - timedelta(hours=1)).isoformat()},
                    {"signup_deadline": (NOON - timedelta(hours=1)).isoformat()}):
            assert_error(await client.post("/activities", json=base | bad, headers=c.manager), 422, "invalid_activity")
        plain = await published_notice(client, c)
        assert_error(await client.post("/activities", json=base | {"notice_id": plain["id"]}, headers=c.manager), 422, "not_activity_notice")
        assert_error(await client.post("/activities", json=base, headers=owner), 404, "notice_not_found")
        assert (await client.post("/activities", json=base, headers=c.manager)).status_code == 201
        assert_error(await client.post("/activities", json=base, headers=c.manager), 409, "activity_exists")


async def test_the_activity_list_pages_and_refuses_a_cursor_it_did_not_make(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        _, owner = await c.member(await c.room("1", "101"))
        first = await activity(client, c)
        second = await activity(client, c, starts_at=(STARTS + timedelta(hours=1)).isoformat())
        page1 = (await client.get(f"/activities?community_id={c.id}&limit=1", headers=owner)).json()
        assert [x["id"] for x in page1["items"]] == [first["id"]] and page1["next_cursor"]
        page2 = (await client.get(
            f"/activities?community_id={c.id}&limit=1&cursor={page1['next_cursor']}", headers=owner)).json()
        assert [x["id"] for x in page2["items"]] == [second["id"]] and page2["next_cursor"] is None
        # A start time without a zone cannot be compared with the activities' own: 400, not 500.
        naive = encode_cursor([STARTS.replace(tzinfo=None).isoformat(), first["id"]])
        for cursor in (naive, encode_cursor(["tomorrow", first["id"]]), "not-base64!"):
            r = await client.get(f"/activities?community_id={c.id}&cursor={cursor}", headers=owner)
            assert_error(r, 400, "invalid_cursor")
