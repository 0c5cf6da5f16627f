"""Drafting and the review workflow through the app: review, single-manager mode, the
scheduler, withdrawal, and drafts refused (services/notices/workflow.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from services.notices.models import CommunityConfig, Notice
from tests.notices.factories import (
    NOON,
    Community,
    notice_body,
    notices_app,
    published_notice,
    set_clock,
    tick,
)
from tests.support import admin_token, assert_error, auth, client_for, manager_token, token


async def test_manager_cannot_approve_own_notice_unless_single_manager_mode(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        await c.room()
        nid = (await client.post("/notices", json=notice_body(c), headers=c.manager)).json()["id"]
        await client.post(f"/notices/{nid}/submit", headers=c.manager)
        r = await client.post(f"/notices/{nid}/approve", headers=c.manager)
        assert "审核" in assert_error(r, 403, "self_approval_not_allowed")["message"]
        async with app.state.sessionmaker() as s:
            assert (await s.get(Notice, nid)).status == "submitted"

        r = await client.put(
            f"/notices/settings?community_id={c.id}",
            json={"single_manager": True},
            headers=auth(admin_token()),
        )
        assert r.status_code == 200 and r.json() == {"single_manager": True}
        r = await client.post(f"/notices/{nid}/approve", headers=c.manager)
        assert r.status_code == 200 and r.json()["status"] == "approved"


async def test_a_manager_cannot_switch_off_the_two_person_rule_that_binds_them(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        _, owner = await c.member(await c.room())
        nid = (await client.post("/notices", json=notice_body(c), headers=c.manager)).json()["id"]
        await client.post(f"/notices/{nid}/submit", headers=c.manager)
        url = f"/notices/settings?community_id={c.id}"

        r = await client.put(url, json={"single_manager": True}, headers=c.manager)
        assert "平台管理员" in assert_error(r, 403, "single_manager_admin_only")["message"]
        # Nobody else who is not a platform admin gets further, and the answer is the same
        # whatever the community (so it tells nothing about it).
        for headers in (
            c.other_manager,
            owner,
            auth(manager_token("another-community")),
            auth(token(staff={c.id: {"role": "crew", "department": "customer_service"}})),
        ):
            for cid in (c.id, "no-such-community"):
                r = await client.put(
                    f"/notices/settings?community_id={cid}",
                    json={"single_manager": True},
                    headers=headers,
                )
                assert_error(r, 403, "single_manager_admin_only")

        # Nothing changed: the author still cannot approve their own notice.
        r = await client.post(f"/notices/{nid}/approve", headers=c.manager)
        assert_error(r, 403, "self_approval_not_allowed")
        async with app.state.sessionmaker() as s:
            assert (await s.get(Notice, nid)).status == "submitted"
            assert (await s.scalar(select(func.count()).select_from(CommunityConfig))) == 0


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
        assert_error(r, 409, "notice_withdrawn")
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
            assert_error(r, status, code)
        # A resident cannot draft notices: the community is not theirs to manage.
        _, owner = await c.member(c.rooms["1-101"])
        r = await client.post("/notices", json=notice_body(c), headers=owner)
        assert_error(r, 404, "community_not_found")
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
