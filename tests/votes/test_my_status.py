"""The caller's standing on each vote of a list (services/votes/my_status.py), one request for
several rooms (multi_room.py), the home part (home.py), and their rules (`room_status`,
`vote_status`, `same_answers`)."""

from __future__ import annotations

import uuid

import pytest

from services.votes import rules
from services.votes.models import Ballot
from tests.common.identity_replica import factories as ie
from tests.support import assert_error, client_for
from tests.votes.factories import (
    T0,
    all_motions,
    count_rows,
    create_vote,
    manager,
    open_vote,
    owner_of,
    votes_app,
)


@pytest.mark.parametrize(
    ("has_ballot", "can_vote", "status"),
    [(True, True, "voted"), (True, False, "voted"), (False, True, "not_voted"), (False, False, "not_eligible")],
)
def test_room_status(has_ballot, can_vote, status):
    assert rules.room_status(has_ballot, can_vote) == status


@pytest.mark.parametrize(
    ("rooms", "status"),
    [(["voted", "not_voted"], "not_voted"), (["voted", "not_eligible"], "voted"),
     (["not_eligible"], "not_eligible"), ([], "not_eligible")],
)
def test_vote_status_is_to_do_while_any_room_waits(rooms, status):
    assert rules.vote_status(rooms) == status


def test_same_answers_ignores_order_and_blank_texts():
    wanted = [rules.Answer("m1", ("agree",)), rules.Answer("q1", ("a", "b")), rules.Answer("t", (), "  ")]
    assert rules.same_answers([("q1", "b", None), ("m1", "agree", None), ("q1", "a", None)], wanted)
    assert not rules.same_answers([("m1", "disagree", None), ("q1", "a", None), ("q1", "b", None)], wanted)
    assert not rules.same_answers([("m1", "agree", None)], wanted)


async def _world(app, c):
    cid = str(uuid.uuid4())
    app.state.clock.set(T0)
    r1 = await ie.room(app, cid, building="1", room_no="101")
    r2 = await ie.room(app, cid, building="1", room_no="102")
    r3 = await ie.room(app, cid, building="2", room_no="201")
    owner = await owner_of(app, cid, r1)
    await owner_of(app, cid, r2, account_id=owner.account_id)
    await owner_of(app, cid, r3, relation="tenant", account_id=owner.account_id)
    vote = await create_vote(c, cid)
    await open_vote(c, cid, vote)
    return cid, owner, vote, (r1["room_id"], r2["room_id"], r3["room_id"])


async def test_owner_of_several_rooms_casts_once_for_all_and_sees_what_is_left_to_do(database_urls):
    async with votes_app(database_urls) as app, client_for(app) as c:
        cid, owner, vote, (r1, r2, r3) = await _world(app, c)
        draft = await create_vote(c, cid, title="草稿")

        listed = {v["id"]: v for v in (await c.get("/votes", params={"community_id": cid},
                                                   headers=owner.headers)).json()["items"]}
        assert draft["id"] not in listed  # an owner does not see drafts
        mine = listed[vote["id"]]
        assert mine["my_status"] == "not_voted"
        assert {r["room_id"]: r["my_status"] for r in mine["my_rooms"]} == {
            r1: "not_voted", r2: "not_voted", r3: "not_eligible"}
        home = (await c.get("/internal/home", params={"community_id": cid}, headers=owner.headers)).json()
        assert [v["id"] for v in home["votes_to_do"]] == [vote["id"]]

        body = {"answers": all_motions(vote, "agree", "disagree")}
        r = await c.post(f"/votes/{vote['id']}/ballots/batch", json=body, headers=owner.headers)
        assert r.status_code == 200, r.text
        assert {x["room_id"]: x["outcome"] for x in r.json()["rooms"]} == {
            r1: "cast", r2: "cast", r3: "not_eligible"}
        assert r.json()["counted"] == 2
        assert await count_rows(app, Ballot, Ballot.vote_id == vote["id"], Ballot.active_room_id.is_not(None)) == 2
        # Repeating is harmless; other choices on a vote without changes are refused per room.
        again = (await c.post(f"/votes/{vote['id']}/ballots/batch", json=body, headers=owner.headers)).json()
        assert {x["room_id"]: x["outcome"] for x in again["rooms"]} == {
            r1: "unchanged", r2: "unchanged", r3: "not_eligible"}
        other = {"answers": all_motions(vote, "disagree")}
        refused = (await c.post(f"/votes/{vote['id']}/ballots/batch", json=other, headers=owner.headers)).json()
        assert {x["room_id"]: x["outcome"] for x in refused["rooms"]} == {
            r1: "already_voted", r2: "already_voted", r3: "not_eligible"}
        assert await count_rows(app, Ballot, Ballot.vote_id == vote["id"]) == 2

        mine = next(v for v in (await c.get("/votes", params={"community_id": cid},
                                            headers=owner.headers)).json()["items"] if v["id"] == vote["id"])
        assert mine["my_status"] == "voted"
        home = (await c.get("/internal/home", params={"community_id": cid}, headers=owner.headers)).json()
        assert home["votes_to_do"] == []


async def test_batch_replaces_where_changes_are_allowed_and_refuses_what_it_must(database_urls):
    async with votes_app(database_urls) as app, client_for(app) as c:
        cid, owner, _, (r1, r2, r3) = await _world(app, c)
        vote = await create_vote(c, cid, allow_change=True)
        await open_vote(c, cid, vote)
        url = f"/votes/{vote['id']}/ballots/batch"
        first = await c.post(url, json={"room_ids": [r1], "answers": all_motions(vote, "agree")}, headers=owner.headers)
        assert [x["outcome"] for x in first.json()["rooms"]] == ["cast"]
        changed = await c.post(url, json={"answers": all_motions(vote, "disagree")}, headers=owner.headers)
        assert {x["room_id"]: x["outcome"] for x in changed.json()["rooms"]} == {
            r1: "replaced", r2: "cast", r3: "not_eligible"}
        # Nothing the caller may vote for: refused, nothing cast.
        assert_error(await c.post(url, json={"room_ids": [r3], "answers": all_motions(vote, "agree")},
                                  headers=owner.headers), 403, "not_room_owner")
        bad = await c.post(url, json={"answers": [{"item_id": "nope", "option_ids": ["agree"]}]}, headers=owner.headers)
        assert bad.status_code in (400, 422) and await count_rows(app, Ballot, Ballot.vote_id == vote["id"]) == 3
        assert_error(await c.post(url, json={"room_ids": [], "answers": []}, headers=owner.headers), 422)
        assert (await c.post(f"/votes/{vote['id']}/close", headers=manager(cid))).status_code == 200
        assert_error(await c.post(url, json={"answers": all_motions(vote, "agree")}, headers=owner.headers),
                     409, "vote_not_open")
