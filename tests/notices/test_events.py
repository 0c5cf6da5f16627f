"""The events notices consumes: votes' and identity's events reach inboxes, once
(services/notices/events.py)."""

from __future__ import annotations

import uuid

from services.common.events import ReceivedEvent
from tests.common.identity_replica import factories as ie
from tests.notices.factories import Community, notices_app, tick, ticket_event
from tests.support import auth, client_for, token


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
