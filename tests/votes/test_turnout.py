"""Turnout tools (services/votes/turnout.py, paper_ballots.py): the rooms that have not
voted, a rate-limited reminder to them, and paper or proxy ballots entered by managers."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.common.events.models import OutboxEvent
from services.votes.models import Ballot, BallotAnswer
from tests.common.identity_replica import factories as ie
from tests.support import assert_error, auth, client_for, crew_token, token
from tests.votes.factories import (
    T0,
    all_motions,
    cast,
    count_rows,
    create_vote,
    manager,
    open_vote,
    owner_of,
    votes_app,
)

OWNERS = [{"owner_key": "k1", "name": "李明", "phone_masked": "138****1234"}]


def paper(vote: dict, room_id: str, **overrides) -> dict:
    body = {
        "room_id": room_id,
        "answers": all_motions(vote, "agree"),
        "signer": "王芳",
        "photo_id": "upl-123",
    }
    return body | overrides


async def test_non_voters_are_paged_by_label_filtered_by_building_with_masked_phones(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        rooms = [await ie.room(app, cid, building="1", room_no=f"10{n}", owners=OWNERS) for n in range(1, 4)]
        other = await ie.room(app, cid, building="2", room_no="201")
        voter = await owner_of(app, cid, rooms[0])
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        assert (await cast(c, vote, voter, "agree")).status_code == 201

        first = (await c.get(f"/votes/{vote['id']}/non-voters?limit=2", headers=manager(cid))).json()
        assert [r["label"] for r in first["items"]] == ["1栋102", "1栋103"]
        assert first["items"][0]["owners"] == [{"name": "李明", "phone_masked": "138****1234"}]
        assert "13812341234" not in str(first)
        rest = (await c.get(f"/votes/{vote['id']}/non-voters?limit=2&cursor={first['next_cursor']}", headers=manager(cid))).json()
        assert [r["room_id"] for r in rest["items"]] == [other["room_id"]] and rest["next_cursor"] is None
        only_2 = (await c.get(f"/votes/{vote['id']}/non-voters?building_id={other['building_id']}", headers=manager(cid))).json()
        assert [r["room_id"] for r in only_2["items"]] == [other["room_id"]]

        # Owners and crews do not see it; another community's manager gets the same 404.
        assert_error(await c.get(f"/votes/{vote['id']}/non-voters", headers=voter.headers), 404, "vote_not_found")
        assert_error(await c.get(f"/votes/{vote['id']}/non-voters", headers=auth(crew_token(cid))), 404, "vote_not_found")
        assert_error(await c.get(f"/votes/{vote['id']}/non-voters", headers=manager(str(uuid.uuid4()))), 404, "vote_not_found")


async def test_reminder_names_only_non_voters_and_is_rate_limited_per_vote(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        voted, waiting = [await ie.room(app, cid, room_no=n) for n in ("101", "102")]
        voter = await owner_of(app, cid, voted)
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        assert (await cast(c, vote, voter, "agree")).status_code == 201

        r = await c.post(f"/votes/{vote['id']}/reminders", headers=manager(cid))
        assert r.status_code == 202, r.text
        assert r.json()["rooms"] == 1
        async with app.state.sessionmaker() as s:
            events = (await s.scalars(select(OutboxEvent).where(OutboxEvent.type == "votes.vote.reminder"))).all()
        assert len(events) == 1 and events[0].payload["room_ids"] == [waiting["room_id"]]
        assert events[0].payload["reminder_no"] == 1

        again = assert_error(await c.post(f"/votes/{vote['id']}/reminders", headers=manager(cid)), 429, "reminder_too_soon")
        assert again["details"]["next_allowed_at"].startswith((T0 + timedelta(hours=24)).isoformat()[:16])
        assert await count_rows(app, OutboxEvent, OutboxEvent.type == "votes.vote.reminder") == 1
        assert_error(await c.post(f"/votes/{vote['id']}/reminders", headers=voter.headers), 404, "vote_not_found")

        app.state.clock.advance(timedelta(hours=24))
        assert (await c.post(f"/votes/{vote['id']}/reminders", headers=manager(cid))).status_code == 202
        assert await count_rows(app, OutboxEvent, OutboxEvent.type == "votes.vote.reminder") == 2


async def test_paper_ballot_counts_like_an_online_one_and_is_marked_in_results_and_csv(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        online_room, paper_room = [await ie.room(app, cid, room_no=n) for n in ("101", "102")]
        online = await owner_of(app, cid, online_room)
        mgr = await ie.staff(app, cid, role="manager", name="赵经理")
        mgr_h = auth(token(mgr["account_id"], staff={cid: {"role": "manager", "department": None}}))
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        assert (await cast(c, vote, online, "agree")).status_code == 201
        r = await c.post(f"/votes/{vote['id']}/paper-ballots", json=paper(vote, paper_room["room_id"], source="proxy"), headers=mgr_h)
        assert r.status_code == 201, r.text
        assert r.json() | {"ballot_id": "x", "cast_at": "x"} == {
            "ballot_id": "x", "cast_at": "x", "room_id": paper_room["room_id"], "source": "proxy",
            "signer": "王芳", "photo_id": "upl-123", "entered_by": mgr["account_id"],
        }
        await c.post(f"/votes/{vote['id']}/close", headers=mgr_h)
        res = (await c.get(f"/votes/{vote['id']}/results", headers=online.headers)).json()
        assert res["ballots"] == 2 and res["ballots_by_source"] == {"online": 1, "paper": 0, "proxy": 1}
        assert res["motions"][0]["participation"]["area"] == "179.00"
        per_room = (await c.get(f"/votes/{vote['id']}/results/rooms", headers=online.headers)).json()["items"]
        assert sorted((r["room_id"], r["source"]) for r in per_room) == sorted(
            [(online_room["room_id"], "online"), (paper_room["room_id"], "proxy")])
        export = await c.get(f"/votes/{vote['id']}/ballots.csv", headers=mgr_h)
        rows = list(csv.reader(io.StringIO(export.text.removeprefix("\ufeff"), newline="")))
        assert rows[0][-4:] == ["方式", "签名人", "录入人", "纸质选票照片"]
        assert sorted(r[-4:] for r in rows[1:]) == [["委托", "王芳", "赵经理", "upl-123"], ["线上", "", "", ""]]


async def test_paper_ballots_refused_for_a_voted_room_outside_the_window_or_by_a_non_manager(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        owner = await owner_of(app, cid, room)
        vote = await create_vote(c, cid)
        url = f"/votes/{vote['id']}/paper-ballots"
        assert_error(await c.post(url, json=paper(vote, room["room_id"]), headers=manager(cid)), 409, "vote_not_open")
        await open_vote(c, cid, vote)
        assert_error(await c.post(url, json=paper(vote, room["room_id"]), headers=owner.headers), 404, "vote_not_found")
        assert_error(await c.post(url, json=paper(vote, room["room_id"]), headers=auth(crew_token(cid))), 404, "vote_not_found")
        assert_error(await c.post(url, json=paper(vote, "nowhere"), headers=manager(cid)), 422, "room_not_in_electorate")
        assert_error(await c.post(url, json=paper(vote, room["room_id"], signer=""), headers=manager(cid)), 422)
        assert_error(await c.post(url, json=paper(vote, room["room_id"], answers=[]), headers=manager(cid)), 422, "missing_answer")
        assert await count_rows(app, Ballot) == 0 and await count_rows(app, BallotAnswer) == 0

        assert (await cast(c, vote, owner, "agree")).status_code == 201
        refused = assert_error(await c.post(url, json=paper(vote, room["room_id"]), headers=manager(cid)), 409, "room_already_voted")
        assert not refused["message"].isascii()
        assert await count_rows(app, Ballot) == 1
        app.state.clock.advance(timedelta(days=8))
        assert_error(await c.post(url, json=paper(vote, room["room_id"]), headers=manager(cid)), 409, "vote_not_open")


async def test_an_owner_cannot_replace_a_paper_ballot_online_even_when_changes_are_allowed(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        owner = await owner_of(app, cid, room)
        vote = await create_vote(c, cid, allow_change=True)
        await open_vote(c, cid, vote)
        assert (await c.post(f"/votes/{vote['id']}/paper-ballots", json=paper(vote, room["room_id"]), headers=manager(cid))).status_code == 201
        assert_error(await cast(c, vote, owner, "disagree"), 409, "already_voted")
        assert await count_rows(app, Ballot) == 1


@pytest.mark.parametrize("rounds", [10])
async def test_online_and_paper_ballots_racing_for_one_room_leave_exactly_one_standing(database_urls, rounds):
    """Online ballots and paper entries for the same rooms at once: per room exactly one
    stands, and the losers are refused with a 409 (the database's unique constraint decides)."""
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        rooms = [await ie.room(app, cid, room_no=f"{100 + n}") for n in range(rounds)]
        owners = [await owner_of(app, cid, r) for r in rooms]
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)

        async def online(n: int):
            return await cast(c, vote, owners[n], "agree")

        async def on_paper(n: int):
            return await c.post(f"/votes/{vote['id']}/paper-ballots", json=paper(vote, rooms[n]["room_id"]), headers=manager(cid))

        responses = await asyncio.gather(*(f(n) for n in range(rounds) for f in (online, on_paper, on_paper)))
        assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
        assert sum(r.status_code == 201 for r in responses) == rounds
        assert await count_rows(app, Ballot) == rounds
        assert await count_rows(app, Ballot, Ballot.active_room_id.is_not(None)) == rounds
