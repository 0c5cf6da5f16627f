"""Resend to the unread (services/notices/resend.py): a published notice goes again to the
households that have not read it, once per notice per N hours, managers only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from services.notices.models import InboxEntry
from tests.notices.factories import NOON, Community, notices_app, published_notice, set_clock
from tests.support import assert_error, auth, client_for, crew_token


async def _entries(app, source_prefix: str) -> list[InboxEntry]:
    async with app.state.sessionmaker() as s:
        rows = await s.scalars(select(InboxEntry).where(InboxEntry.source_key.like(source_prefix + "%")))
        return list(rows.all())


async def test_resend_reaches_only_the_unread_households_and_is_limited_per_notice(database_urls):
    async with notices_app(database_urls["notices"], resend_interval_hours=6) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        read_room, unread_room = await c.room("1", "101"), await c.room("1", "102")
        _, reader = await c.member(read_room)
        reader_family_id, _ = await c.member(read_room, "family")
        unread_owner_id, _ = await c.member(unread_room)
        unread_tenant_id, _ = await c.member(unread_room, "tenant")
        notice = await published_notice(client, c)
        assert (await client.get(f"/notices/{notice['id']}", headers=reader)).status_code == 200

        r = await client.post(f"/notices/{notice['id']}/resend", headers=c.manager)
        assert r.status_code == 202, r.text
        assert (r.json()["households"], r.json()["accounts"]) == (1, 2)
        resent = await _entries(app, f"notice:{notice['id']}:resend:")
        assert sorted(e.account_id for e in resent) == sorted([unread_owner_id, unread_tenant_id])
        assert reader_family_id not in {e.account_id for e in resent}

        again = assert_error(await client.post(f"/notices/{notice['id']}/resend", headers=c.manager), 429, "resend_too_soon")
        assert again["details"]["next_allowed_at"].startswith((NOON + timedelta(hours=6)).isoformat()[:16])
        assert len(await _entries(app, f"notice:{notice['id']}:resend:")) == 2

        set_clock(app, NOON + timedelta(hours=6))
        assert (await client.post(f"/notices/{notice['id']}/resend", headers=c.manager)).status_code == 202
        assert len(await _entries(app, f"notice:{notice['id']}:resend:")) == 4

        # Withdrawing takes the re-pushed entries out of inboxes too.
        assert (await client.post(f"/notices/{notice['id']}/withdraw", headers=c.manager)).status_code == 200
        assert await _entries(app, f"notice:{notice['id']}:resend:") == []


async def test_resend_refused_for_non_managers_and_unpublished_notices(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        _, owner = await c.member(await c.room())
        notice = await published_notice(client, c)
        for headers in (owner, auth(crew_token(c.id)), Community(app).manager):
            assert_error(await client.post(f"/notices/{notice['id']}/resend", headers=headers), 404, "notice_not_found")
        draft = (await client.post("/notices", json={"community_id": c.id, "title": "草稿", "body": "正文", "category": "announcement"}, headers=c.manager)).json()
        assert_error(await client.post(f"/notices/{draft['id']}/resend", headers=c.manager), 409, "notice_not_resendable")
        assert await _entries(app, f"notice:{draft['id']}:resend:") == []
