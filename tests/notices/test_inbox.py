"""The personal inbox, fed by repairs', votes' and identity's events."""

from __future__ import annotations

import asyncio
import uuid

from services.common.events import ReceivedEvent
from tests import identity_events as ie
from tests.notices.support import Community, notices_app, tick
from tests.support import auth, client_for, token


def ticket_event(c: Community, reporter: str, ticket_id: str, action: str, to_status: str) -> dict:
    return {
        "community_id": c.id,
        "ticket_id": ticket_id,
        "reporter_id": reporter,
        "room_id": None,
        "from_status": "submitted",
        "to_status": to_status,
        "action": action,
        "assignee_id": None,
        "note": None,
    }


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
        # "start" is not worth a notification; the others are, newest first.
        assert {e["kind"] for e in inbox["items"]} == {
            "repair_accept",
            "repair_assign",
            "repair_resolve",
            "repair_overdue",
        }
        assert inbox["unread_count"] == 4
        assert all(e["link"] == f"/pages/repairs/detail?id={ticket}" for e in inbox["items"])
        apology = next(e for e in inbox["items"] if e["kind"] == "repair_overdue")
        assert "抱歉" in apology["text"] and "上门" in apology["text"]

        r = await client.post(f"/inbox/{apology['id']}/read", headers=me)
        assert r.status_code == 200 and r.json()["read"] is True
        assert (await client.get("/inbox/unread-count", headers=me)).json() == {"unread_count": 3}
        # Someone else's entry does not exist for me.
        other = auth(token())
        assert (await client.post(f"/inbox/{apology['id']}/read", headers=other)).status_code == 404
        assert (await client.get("/inbox", headers=other)).json()["items"] == []

        page1 = (await client.get("/inbox?limit=3", headers=me)).json()
        page2 = (
            await client.get(f"/inbox?limit=3&cursor={page1['next_cursor']}", headers=me)
        ).json()
        assert (
            len(page1["items"]) == 3 and len(page2["items"]) == 1 and page2["next_cursor"] is None
        )
        assert {e["id"] for e in page1["items"] + page2["items"]} == {
            e["id"] for e in inbox["items"]
        }


async def test_vote_opening_reaches_owners_in_scope(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        r1 = await c.room("1", "101")
        r2 = await c.room("2", "201")
        _, owner1 = await c.member(r1)
        _, tenant1 = await c.member(r1, "tenant")
        _, owner2 = await c.member(r2)
        vote_id = str(uuid.uuid4())
        await ie.deliver(
            app,
            "votes.vote.opened",
            {
                "community_id": c.id,
                "vote_id": vote_id,
                "kind": "vote",
                "title": "是否更换电梯",
                "closes_at": "2026-12-01T00:00:00Z",
                "building_ids": [c.building_id("1")],
            },
        )
        await tick(app)  # votes fan out in the background, like notices

        def vote_entries(inbox: dict) -> list[dict]:
            return [e for e in inbox["items"] if e["kind"].startswith("vote_")]

        mine = vote_entries((await client.get("/inbox", headers=owner1)).json())
        assert [(e["kind"], e["link"]) for e in mine] == [
            ("vote_opened", f"/pages/votes/detail?id={vote_id}")
        ]
        assert "是否更换电梯" in mine[0]["text"]
        assert vote_entries((await client.get("/inbox", headers=tenant1)).json()) == []
        assert vote_entries((await client.get("/inbox", headers=owner2)).json()) == []

        await ie.deliver(
            app,
            "votes.vote.closing_soon",
            {
                "community_id": c.id,
                "vote_id": vote_id,
                "title": "是否更换电梯",
                "closes_at": "2026-12-01T00:00:00Z",
                "building_ids": None,
            },
        )
        await tick(app)
        # A reminder without a kind goes to every verified member in scope.
        assert [
            e["kind"] for e in vote_entries((await client.get("/inbox", headers=owner2)).json())
        ] == ["vote_closing_soon"]


async def test_binding_results_reach_the_applicant(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        room = await c.room()
        account_id, me = await c.member(room)
        await ie.deliver(
            app,
            "identity.binding.rejected",
            {
                "community_id": c.id,
                "binding_id": str(uuid.uuid4()),
                "account_id": account_id,
                "room_id": room["room_id"],
                "reason": "姓名与登记不符",
            },
        )
        items = (await client.get("/inbox", headers=me)).json()["items"]
        by_kind = {e["kind"]: e for e in items}
        assert set(by_kind) == {"binding_verified", "binding_rejected"}
        assert "1栋101住户" in by_kind["binding_verified"]["text"]
        assert "姓名与登记不符" in by_kind["binding_rejected"]["text"]
        assert by_kind["binding_rejected"]["link"] == "/pages/me/bindings"


async def test_a_redelivered_event_gives_one_entry(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        reporter = str(uuid.uuid4())
        event = ticket_event(c, reporter, str(uuid.uuid4()), "accept", "accepted")
        for _ in range(2):
            async with app.state.sessionmaker() as session:
                await app.state.event_handlers.handle(
                    session,
                    ReceivedEvent(
                        id="evt_same", type="repairs.ticket.status_changed", payload=event
                    ),
                )
                await session.commit()
        assert len((await client.get("/inbox", headers=auth(token(reporter)))).json()["items"]) == 1


async def test_a_deleted_account_is_forgotten(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        account_id, me = await c.member(await c.room(), openid="openid-gone")
        await client.post("/me/subscriptions", json={"template_ids": ["tpl-notice"]}, headers=me)
        await ie.deliver(
            app, "identity.account.deleted", {"community_id": c.id, "account_id": account_id}
        )
        assert (await client.get("/inbox", headers=me)).json() == {
            "items": [],
            "next_cursor": None,
            "unread_count": 0,
        }
        assert (await client.get("/me/subscriptions", headers=me)).json()["consents"][
            "tpl-notice"
        ] == 0


async def test_the_worker_in_the_lifespan_delivers_without_being_asked(database_urls):
    async with (
        notices_app(database_urls["notices"], worker_interval_seconds=0.05) as app,
        client_for(app) as client,
    ):
        c = Community(app)
        _, owner = await c.member(await c.room())
        vote_id = str(uuid.uuid4())
        await ie.deliver(
            app,
            "votes.vote.closed",
            {
                "community_id": c.id,
                "vote_id": vote_id,
                "kind": "vote",
                "title": "更换电梯",
                "building_ids": None,
                "results": [],
            },
        )
        for _ in range(100):
            kinds = [e["kind"] for e in (await client.get("/inbox", headers=owner)).json()["items"]]
            if "vote_closed" in kinds:
                break
            await asyncio.sleep(0.05)
        assert "vote_closed" in kinds


async def test_a_forged_cursor_is_a_bad_request(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        me = auth(token())
        for cursor in ("not-base64!", "WyJ4IiwieSJd"):  # the second is ["x","y"]
            r = await client.get(f"/inbox?cursor={cursor}", headers=me)
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_cursor"
        r = await client.get(
            f"/notices?community_id={uuid.uuid4()}&cursor=WyJ4IiwieSJd", headers=me
        )
        assert r.status_code == 400
