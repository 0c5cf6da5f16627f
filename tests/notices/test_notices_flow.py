"""Notices through the app: review, targeting, the feed, reads and receipts, bad input."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from services.common.events.models import OutboxEvent
from services.notices.models import Notice
from tests.notices.support import (
    Community,
    notice_body,
    notices_app,
    published_notice,
    set_clock,
    tick,
)
from tests.support import client_for

NOON = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 12:00 Asia/Shanghai


async def test_reviewed_notice_reaches_the_targeted_building_only(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        b1 = await c.room("1", "101")
        b2 = await c.room("2", "201")
        _, owner1 = await c.member(b1)
        _, owner2 = await c.member(b2)
        notice = await published_notice(
            client, c, audience={"kind": "buildings", "building_ids": [c.building_id("1")]}
        )
        assert notice["status"] == "published" and notice["approved_by"] is not None

        feed1 = (await client.get(f"/notices?community_id={c.id}", headers=owner1)).json()
        assert [n["id"] for n in feed1["items"]] == [notice["id"]] and feed1["items"][0][
            "read"
        ] is False
        feed2 = (await client.get(f"/notices?community_id={c.id}", headers=owner2)).json()
        assert feed2["items"] == []
        # Not targeted at owner2: it does not exist for them.
        r = await client.get(f"/notices/{notice['id']}", headers=owner2)
        assert r.status_code == 404 and r.json()["error"]["code"] == "notice_not_found"

        r = await client.get(f"/notices/{notice['id']}", headers=owner1)
        assert r.status_code == 200 and r.json()["read"] is True
        feed1 = (await client.get(f"/notices?community_id={c.id}", headers=owner1)).json()
        assert feed1["items"][0]["read"] is True

        async with app.state.sessionmaker() as s:
            events = (await s.scalars(select(OutboxEvent))).all()
        assert [(e.type, e.ordering_key) for e in events] == [
            ("notices.notice.published", notice["id"])
        ]
        assert events[0].payload["audience"]["building_ids"] == [c.building_id("1")]


async def test_manager_cannot_approve_own_notice_unless_single_manager_mode(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        await c.room()
        nid = (await client.post("/notices", json=notice_body(c), headers=c.manager)).json()["id"]
        await client.post(f"/notices/{nid}/submit", headers=c.manager)
        r = await client.post(f"/notices/{nid}/approve", headers=c.manager)
        assert r.status_code == 403 and r.json()["error"]["code"] == "self_approval_not_allowed"
        assert "审核" in r.json()["error"]["message"]
        async with app.state.sessionmaker() as s:
            assert (await s.get(Notice, nid)).status == "submitted"

        r = await client.put(
            f"/notices/settings?community_id={c.id}",
            json={"single_manager": True},
            headers=c.manager,
        )
        assert r.status_code == 200
        r = await client.post(f"/notices/{nid}/approve", headers=c.manager)
        assert r.status_code == 200 and r.json()["status"] == "approved"


async def test_emergency_publishes_at_once_and_receipts_list_unread_households(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        owners = [{"owner_key": "k1", "name": "李明", "phone_masked": "138****1234"}]
        r101 = await c.room("1", "101", owners=owners)
        r102 = await c.room(
            "1", "102", owners=[{"owner_key": "k2", "name": "王芳", "phone_masked": "139****5678"}]
        )
        r201 = await c.room("2", "201")
        await c.room("2", "202")  # nobody bound: not a targeted household
        _, li = await c.member(r101)
        _, li_family = await c.member(r101, "family")
        await c.member(r102)
        _, zhao = await c.member(r201)

        r = await client.post(
            "/notices",
            json=notice_body(
                c,
                category="emergency",
                title="燃气泄漏",
                body="3号楼燃气泄漏，请勿使用明火。",
                expires_at=(NOON + timedelta(hours=6)).isoformat(),
            ),
            headers=c.manager,
        )
        nid = r.json()["id"]
        r = await client.post(f"/notices/{nid}/publish", headers=c.manager)
        assert r.status_code == 200 and r.json()["status"] == "published"

        # Two members of 1-101 read: one household, counted once.
        assert (await client.get(f"/notices/{nid}", headers=li)).status_code == 200
        assert (await client.get(f"/notices/{nid}", headers=li)).status_code == 200
        assert (await client.get(f"/notices/{nid}", headers=li_family)).status_code == 200
        assert (await client.get(f"/notices/{nid}", headers=zhao)).status_code == 200

        r = await client.get(f"/notices/{nid}/receipts", headers=c.other_manager)
        assert r.status_code == 200
        receipts = r.json()
        assert (receipts["targeted"], receipts["read"]) == (3, 2)
        assert [
            (b["building_name"], b["targeted"], b["read"]) for b in receipts["by_building"]
        ] == [
            ("1栋", 2, 1),
            ("2栋", 1, 1),
        ]
        assert [(u["label"], u["owners"]) for u in receipts["unread"]] == [
            ("1栋102", [{"name": "王芳", "phone_masked": "139****5678"}])
        ]

        r = await client.get(f"/notices/{nid}/receipts?format=csv", headers=c.manager)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        lines = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
        assert lines[0][:3] == ["楼栋", "房号", "是否已读"]
        assert ["1栋", "1栋102", "未读", "王芳", "139****5678"] in lines and len(lines) == 4

        # An owner may not see receipts: the notice's management side does not exist for them.
        assert (await client.get(f"/notices/{nid}/receipts", headers=li)).status_code == 404


async def test_feed_orders_pinned_and_emergency_first_then_newest_with_pages(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        _, owner = await c.member(await c.room())
        set_clock(app, NOON)
        pinned = await published_notice(client, c, title="小区公约", category="rules", pinned=True)
        set_clock(app, NOON + timedelta(minutes=1))
        older = await published_notice(client, c, title="旧公告")
        set_clock(app, NOON + timedelta(minutes=2))
        emergency_id = (
            await client.post(
                "/notices",
                json=notice_body(
                    c,
                    category="emergency",
                    title="紧急停电",
                    expires_at=(NOON + timedelta(days=1)).isoformat(),
                ),
                headers=c.manager,
            )
        ).json()["id"]
        await client.post(f"/notices/{emergency_id}/publish", headers=c.manager)
        set_clock(app, NOON + timedelta(minutes=3))
        newer = await published_notice(client, c, title="新活动", category="activity")

        seen, cursor = [], None
        while True:
            url = f"/notices?community_id={c.id}&limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = (await client.get(url, headers=owner)).json()
            seen += [n["title"] for n in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ["紧急停电", "小区公约", "新活动", "旧公告"]
        assert {pinned["id"], older["id"], newer["id"]} <= {
            n["id"]
            for n in (await client.get(f"/notices?community_id={c.id}", headers=c.manager)).json()[
                "items"
            ]
        }


async def test_roles_audience_reaches_owners_not_tenants(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        room = await c.room()
        _, owner = await c.member(room)
        _, tenant = await c.member(room, "tenant")
        notice = await published_notice(
            client, c, title="业主大会通知", audience={"kind": "roles", "roles": ["owner"]}
        )
        assert (
            len((await client.get(f"/notices?community_id={c.id}", headers=owner)).json()["items"])
            == 1
        )
        assert (await client.get(f"/notices?community_id={c.id}", headers=tenant)).json()[
            "items"
        ] == []
        assert (await client.get(f"/notices/{notice['id']}", headers=tenant)).status_code == 404


async def test_scheduler_publishes_scheduled_notices_and_hides_expired_ones(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        _, owner = await c.member(await c.room())
        notice = await published_notice(
            client,
            c,
            publish_at=(NOON + timedelta(hours=1)).isoformat(),
            expires_at=(NOON + timedelta(hours=3)).isoformat(),
        )
        assert notice["status"] == "scheduled"
        await tick(app)
        assert (await client.get(f"/notices?community_id={c.id}", headers=owner)).json()[
            "items"
        ] == []

        set_clock(app, NOON + timedelta(hours=1))
        await tick(app)
        items = (await client.get(f"/notices?community_id={c.id}", headers=owner)).json()["items"]
        assert [n["status"] for n in items] == ["published"]
        inbox = (await client.get("/inbox", headers=owner)).json()
        # The binding's own entry, then the notice's.
        assert inbox["unread_count"] == 2
        assert f"/pages/notices/detail?id={notice['id']}" in [e["link"] for e in inbox["items"]]

        set_clock(app, NOON + timedelta(hours=3))
        await tick(app)
        assert (await client.get(f"/notices?community_id={c.id}", headers=owner)).json()[
            "items"
        ] == []
        assert (await client.get(f"/notices/{notice['id']}", headers=owner)).status_code == 404
        r = await client.get(f"/notices/{notice['id']}", headers=c.manager)
        assert r.json()["status"] == "expired"


async def test_withdrawn_notice_cannot_be_published_again(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        _, owner = await c.member(await c.room())
        notice = await published_notice(client, c)
        r = await client.post(f"/notices/{notice['id']}/withdraw", headers=c.manager)
        assert r.status_code == 200 and r.json()["status"] == "withdrawn"
        r = await client.post(f"/notices/{notice['id']}/publish", headers=c.manager)
        assert r.status_code == 409 and r.json()["error"]["code"] == "notice_withdrawn"
        assert (await client.get(f"/notices?community_id={c.id}", headers=owner)).json()[
            "items"
        ] == []
        await tick(app)  # the fan-out was cancelled with the notice
        kinds = [e["kind"] for e in (await client.get("/inbox", headers=owner)).json()["items"]]
        assert kinds == ["binding_verified"]


async def test_bad_notices_are_refused_in_chinese_and_change_nothing(database_urls):
    async with (
        notices_app(database_urls["notices"], body_max_chars=100) as app,
        client_for(app) as client,
    ):
        c = Community(app)
        await c.room("1", "101", unit="1")
        cases = [
            (
                {"audience": {"kind": "buildings", "building_ids": ["no-such-building"]}},
                422,
                "unknown_buildings",
            ),
            (
                {
                    "audience": {
                        "kind": "units",
                        "units": [{"building_id": c.building_id("1"), "unit": "9"}],
                    }
                },
                422,
                "unknown_units",
            ),
            ({"category": "emergency"}, 422, "expiry_required"),
            ({"body": "停" * 101}, 422, "body_too_long"),
            ({"body": "详情见<script>alert('x')</script>"}, 422, "markup_not_allowed"),
            ({"category": "gossip"}, 422, "validation_error"),
            ({"expires_at": "2020-01-01T00:00:00+08:00"}, 422, "expiry_in_past"),
        ]
        for fields, status, code in cases:
            r = await client.post("/notices", json=notice_body(c, **fields), headers=c.manager)
            assert r.status_code == status, (fields, r.text)
            error = r.json()["error"]
            assert error["code"] == code and any(
                "\u4e00" <= ch <= "\u9fff" for ch in error["message"]
            )
        # A resident cannot draft notices.
        _, owner = await c.member(c.rooms["1-101"])
        assert (
            await client.post("/notices", json=notice_body(c), headers=owner)
        ).status_code == 403
        async with app.state.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(Notice)) == 0
        # The unit that exists is fine.
        r = await client.post(
            "/notices",
            json=notice_body(
                c,
                audience={
                    "kind": "units",
                    "units": [{"building_id": c.building_id("1"), "unit": "1"}],
                },
            ),
            headers=c.manager,
        )
        assert r.status_code == 201
