"""The personal inbox: pages, unread count, marking read, forged cursors
(services/notices/inbox.py)."""

from __future__ import annotations

import uuid

from tests.common.identity_replica import factories as ie
from tests.notices.factories import Community, notices_app, ticket_event
from tests.support import assert_error, auth, client_for, token


async def test_repair_progress_reaches_the_reporters_inbox(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        reporter = str(uuid.uuid4())
        me = auth(token(reporter))
        ticket = str(uuid.uuid4())
        for action, status in [
            ("accept", "accepted"),
            ("assign", "assigned"),
            ("start", "in_progress"),
            ("resolve", "resolved"),
        ]:
            await ie.deliver(
                app,
                "repairs.ticket.status_changed",
                ticket_event(c, reporter, ticket, action, status),
            )
        await ie.deliver(
            app,
            "repairs.ticket.overdue",
            {
                "community_id": c.id,
                "ticket_id": ticket,
                "reporter_id": reporter,
                "clock": "arrive",
                "deadline": "2026-11-25T08:00:00Z",
            },
        )
        inbox = (await client.get("/inbox", headers=me)).json()
        # Every step, the crew member setting off (start) included.
        assert {e["kind"] for e in inbox["items"]} == {
            "repair_accept",
            "repair_assign",
            "repair_start",
            "repair_resolve",
            "repair_overdue",
        }
        assert inbox["unread_count"] == 5
        assert all(e["link"] == f"/pages/repairs/detail?id={ticket}" for e in inbox["items"])
        apology = next(e for e in inbox["items"] if e["kind"] == "repair_overdue")
        assert "抱歉" in apology["text"] and "上门" in apology["text"]

        r = await client.post(f"/inbox/{apology['id']}/read", headers=me)
        assert r.status_code == 200 and r.json()["read"] is True
        assert (await client.get("/inbox/unread-count", headers=me)).json() == {
            "unread_count": 4,
            "by_kind": {"repair_accept": 1, "repair_assign": 1, "repair_resolve": 1, "repair_start": 1},
        }
        # Someone else's entry does not exist for me.
        other = auth(token())
        assert (await client.post(f"/inbox/{apology['id']}/read", headers=other)).status_code == 404
        assert (await client.get("/inbox", headers=other)).json()["items"] == []

        page1 = (await client.get("/inbox?limit=3", headers=me)).json()
        page2 = (
            await client.get(f"/inbox?limit=3&cursor={page1['next_cursor']}", headers=me)
        ).json()
        assert (
            len(page1["items"]) == 3 and len(page2["items"]) == 2 and page2["next_cursor"] is None
        )
        assert {e["id"] for e in page1["items"] + page2["items"]} == {
            e["id"] for e in inbox["items"]
        }


async def test_a_forged_cursor_is_a_bad_request(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        me = auth(token())
        for cursor in ("not-base64!", "WyJ4IiwieSJd"):  # the second is ["x","y"]
            r = await client.get(f"/inbox?cursor={cursor}", headers=me)
            assert_error(r, 400, "invalid_cursor")
        r = await client.get(
            f"/notices?community_id={uuid.uuid4()}&cursor=WyJ4IiwieSJd", headers=me
        )
        assert r.status_code == 400
