"""Reminders to a vote's non-voters (services/notices/vote_reminders.py): the owners of the
rooms votes names, and nobody else, hear it once, with a push under their vote consent."""

from __future__ import annotations

import uuid

from tests.common.identity_replica import factories as ie
from tests.notices.factories import NOON, Community, notices_app, push_setup, set_clock, tick
from tests.support import client_for


def reminder(c: Community, vote_id: str, room_ids: list[str], no: int = 1) -> dict:
    return {"community_id": c.id, "vote_id": vote_id, "title": "是否更换电梯",
            "closes_at": "2026-12-01T00:00:00Z", "reminder_no": no, "room_ids": room_ids}


async def test_reminder_reaches_owners_of_the_named_rooms_only_and_once(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        set_clock(app, NOON)
        c = Community(app)
        waiting, voted = await c.room("1", "101"), await c.room("1", "102")
        _, owner = await c.member(waiting)
        _, tenant = await c.member(waiting, "tenant")
        _, voter = await c.member(voted)
        vote_id = str(uuid.uuid4())
        # A large electorate's reminder comes in several events; redelivery changes nothing.
        for _ in range(2):
            await ie.deliver(app, "votes.vote.reminder", reminder(c, vote_id, [waiting["room_id"]]))

        def reminders(inbox: dict) -> list[dict]:
            return [e for e in inbox["items"] if e["kind"] == "vote_reminder"]

        mine = reminders((await client.get("/inbox", headers=owner)).json())
        assert [e["link"] for e in mine] == [f"/pages/votes/detail?id={vote_id}"]
        assert "是否更换电梯" in mine[0]["text"]
        assert reminders((await client.get("/inbox", headers=tenant)).json()) == []
        assert reminders((await client.get("/inbox", headers=voter)).json()) == []
        # The next reminder (a day later) is a new one.
        await ie.deliver(app, "votes.vote.reminder", reminder(c, vote_id, [waiting["room_id"]], no=2))
        assert len(reminders((await client.get("/inbox", headers=owner)).json())) == 2


async def test_reminder_is_pushed_with_the_vote_consent(database_urls):
    async with push_setup(database_urls["notices"]) as s:
        await s.consent("tpl-vote")
        room_id = s.c.rooms["1-101"]["room_id"]
        await ie.deliver(s.app, "votes.vote.reminder", reminder(s.c, str(uuid.uuid4()), [room_id]))
        await tick(s.app)
        sent = await s.messages()
        assert len(sent) == 1 and sent[0]["template_id"] == "tpl-vote"
