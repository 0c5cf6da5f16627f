"""The owner's feed and opening a notice: targeting, order and pages, reads
(services/notices/feed.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from services.common.events.models import OutboxEvent
from tests.notices.factories import (
    NOON,
    Community,
    notice_body,
    notices_app,
    published_notice,
    set_clock,
)
from tests.support import assert_error, client_for


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
        assert_error(r, 404, "notice_not_found")

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
