"""Read state in step between notices and the inbox, read-all, unread per kind
(services/notices/readstate.py, feed.open_notice), the home part (home.py), and the rules
they read (`notice_id_of`, `home_worthy`, attachment names and checks)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.notices import rules
from tests.notices.factories import NOON, Community, notices_app, published_notice, set_clock, tick
from tests.support import client_for


@pytest.mark.parametrize(
    ("key", "notice_id"),
    [("notice:abc", "abc"), ("notice:", None), ("event:abc", None), ("repair:notice:abc", None)],
)
def test_notice_id_of_an_inbox_entry(key, notice_id):
    assert rules.notice_id_of(key) == notice_id
    if notice_id:
        assert rules.notice_source_key(notice_id) == key


@pytest.mark.parametrize(
    ("pinned", "category", "read", "shown"),
    [(True, "announcement", True, True), (False, "emergency", True, True),
     (False, "announcement", False, True), (False, "announcement", True, False)],
)
def test_home_shows_pinned_emergency_or_unread(pinned, category, read, shown):
    assert rules.home_worthy(pinned, category, read) is shown


@pytest.mark.parametrize(
    ("client_name", "shown"),
    [("计划.pdf", "计划.pdf"), ("../../etc/passwd", "passwd.pdf"), ("C:\\\\dir\\\\a;b.PDF", "ab.pdf"),
     ("", "附件.pdf"), (None, "附件.pdf"), ("...", "附件.pdf"), ("a\r\nX-Evil: 1.pdf", "aX-Evil 1.pdf")],
)
def test_pdf_names_are_made_safe_for_headers_and_disks(client_name, shown):
    assert rules.attachment_name(client_name) == shown


def test_content_disposition_downloads_pdfs_under_an_encoded_name():
    header = rules.content_disposition("pdf", "计划 1.pdf")
    assert header.startswith("attachment;") and "filename*=UTF-8''%E8%AE%A1%E5%88%92%201.pdf" in header
    assert header.isascii() and rules.content_disposition("image", "图片.png") == "inline"


@pytest.mark.parametrize(
    ("raw", "pdf", "active"),
    [(b"%PDF-1.7 plain", True, False), (b"%PDF-1.7 /JavaScript (x)", True, True),
     (b"%PDF-1.7 /JS(x)", True, True), (b"%PDF-1.7 /JSON", True, False),
     (b"%PDF-1.7 /Launch", True, True), (b"%PDF-1.7 /EmbeddedFiles", True, True),
     (b" %PDF-1.7", False, False), (b"\x89PNG", False, False)],
)
def test_pdfs_are_recognised_by_content_and_active_ones_spotted(raw, pdf, active):
    assert rules.is_pdf(raw) is pdf
    if pdf:
        assert rules.pdf_has_active_content(raw) is active


async def _inbox(client, who) -> dict[str, dict]:
    """notice id -> its inbox entry."""
    items = (await client.get("/inbox", headers=who)).json()["items"]
    return {e["link"].rsplit("=", 1)[-1]: e for e in items if e["kind"].startswith("notice_")}


async def test_opening_a_notice_reads_its_inbox_entry_and_reading_the_entry_reads_the_notice(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        _, owner = await c.member(await c.room("1", "101"))
        first = await published_notice(client, c, title="停水")
        second = await published_notice(client, c, title="停电")
        await tick(app)
        entries = await _inbox(client, owner)
        assert set(entries) == {first["id"], second["id"]}, entries
        assert not entries[first["id"]]["read"] and not entries[second["id"]]["read"]

        assert (await client.get(f"/notices/{first['id']}", headers=owner)).status_code == 200
        entries = await _inbox(client, owner)
        assert entries[first["id"]]["read"] and not entries[second["id"]]["read"]

        r = await client.post(f"/inbox/{entries[second['id']]['id']}/read", headers=owner)
        assert r.status_code == 200
        receipts = (await client.get(f"/notices/{second['id']}/receipts", headers=c.manager)).json()
        assert receipts["read"] == receipts["targeted"] == 1
        feed = (await client.get(f"/notices?community_id={c.id}&view=feed", headers=owner)).json()
        assert all(n["read"] for n in feed["items"])


async def test_read_all_reads_every_entry_and_its_notices_once(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        _, owner = await c.member(await c.room("1", "101"))
        _, neighbour = await c.member(await c.room("1", "102"))
        # "Your binding was verified": cleared first, with nothing to record for it.
        cleared = (await client.post("/inbox/read-all", headers=owner)).json()
        assert cleared["marked"] == 1 and cleared["unread_count"] == 0
        notice = await published_notice(client, c)
        emergency = await published_notice(client, c, category="emergency", title="燃气泄漏",
                                           expires_at=(NOON + timedelta(days=1)).isoformat())
        await tick(app)
        counts = (await client.get("/inbox/unread-count", headers=owner)).json()
        assert counts == {"unread_count": 2, "by_kind": {"notice_emergency": 1, "notice_maintenance": 1}}

        only = await client.post("/inbox/read-all", params={"kind": "notice_emergency"}, headers=owner)
        assert only.json() == {"unread_count": 1, "by_kind": {"notice_maintenance": 1}, "marked": 1}
        done = (await client.post("/inbox/read-all", headers=owner)).json()
        assert done == {"unread_count": 0, "by_kind": {}, "marked": 1}
        assert (await client.post("/inbox/read-all", headers=owner)).json()["marked"] == 0
        for n in (notice, emergency):
            receipts = (await client.get(f"/notices/{n['id']}/receipts", headers=c.manager)).json()
            assert (receipts["read"], receipts["targeted"]) == (1, 2)
        # The neighbour's inbox is theirs alone.
        assert (await client.get("/inbox/unread-count", headers=neighbour)).json()["unread_count"] == 3


async def test_home_part_shows_three_pinned_emergency_or_unread_notices_and_activities(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        _, owner = await c.member(await c.room("1", "101"))
        await client.post("/inbox/read-all", headers=owner)
        minutes = iter(range(1, 100))

        async def publish(**fields):
            set_clock(app, NOON + timedelta(minutes=next(minutes)))  # one after another
            return await published_notice(client, c, **fields)

        old = await publish(title="旧通知")
        await client.get(f"/notices/{old['id']}", headers=owner)  # read: not on the home screen
        pinned = await publish(title="群规", pinned=True)
        activity = await publish(title="游园会", category="activity")
        starts = NOON + timedelta(days=2)
        r = await client.post("/activities", json={
            "notice_id": activity["id"], "location": "中心广场", "starts_at": starts.isoformat(),
            "signup_deadline": (starts - timedelta(days=1)).isoformat(), "capacity": 30}, headers=c.manager)
        assert r.status_code == 201, r.text
        newest = [await publish(title=f"通知{i}") for i in range(3)]
        await tick(app)
        home = (await client.get("/internal/home", params={"community_id": c.id}, headers=owner)).json()
        assert [n["id"] for n in home["notices"]] == [pinned["id"], newest[2]["id"], newest[1]["id"]]
        assert [a["id"] for a in home["upcoming_activities"]] == [activity["id"]]
        # Five unread: the old notice, opened before its entry was delivered, arrived read.
        assert home["unread_inbox"] == 5 and home["unread_by_kind"]["notice_activity"] == 1
        other = Community(app)
        empty = (await client.get("/internal/home", params={"community_id": other.id}, headers=owner)).json()
        assert empty["notices"] == [] and empty["upcoming_activities"] == []
        assert (await client.get("/internal/home", headers=owner)).status_code == 422
