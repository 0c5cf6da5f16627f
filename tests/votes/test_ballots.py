"""Casting and replacing ballots: who may, what a ballot must hold, one standing ballot per
room under concurrency (services/votes/ballots.py)."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import timedelta

import pytest

from services.votes.models import Ballot, BallotAnswer
from tests.common.identity_replica import factories as ie
from tests.support import assert_error, auth, client_for, token
from tests.votes.factories import (
    T0,
    cast,
    count_rows,
    create_vote,
    manager,
    open_vote,
    owner_of,
    survey_body,
    votes_app,
)


async def test_only_a_verified_owner_of_a_room_in_the_electorate_may_vote(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        one = await ie.room(app, cid, building="1")
        other = await ie.room(app, cid, building="2", room_no="201")
        owner = await owner_of(app, cid, one)
        family = await owner_of(app, cid, one, relation="family")
        tenant = await owner_of(app, cid, one, relation="tenant")
        vote = await create_vote(c, cid, scope={"building_ids": [one["building_id"]]})
        await open_vote(c, cid, vote)

        for member in (family, tenant):
            r = await cast(c, vote, member, "agree")
            assert_error(r, 403, "not_room_owner")
            assert "业主" in r.json()["error"]["message"]
        r = await cast(c, vote, owner, "agree", room_id=other["room_id"])
        assert_error(r, 422, "room_not_in_electorate")
        stranger = await c.post(
            f"/votes/{vote['id']}/ballots",
            json={"room_id": one["room_id"], "answers": []},
            headers=auth(token()),
        )
        assert stranger.status_code == 404
        assert await count_rows(app, Ballot) == 0

        bound = await ie.binding(app, cid, one["room_id"], relation="owner")
        await ie.revoke(app, bound)
        revoked = await c.post(
            f"/votes/{vote['id']}/ballots",
            json={"room_id": one["room_id"], "answers": []},
            headers=auth(token(bound["account_id"])),
        )
        assert revoked.status_code == 404
        assert (await cast(c, vote, owner, "agree")).status_code == 201


async def test_second_ballot_refused_unless_changes_are_allowed_and_every_ballot_is_kept(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        owner = await owner_of(app, cid, room)
        co_owner = await owner_of(app, cid, room)
        fixed = await create_vote(c, cid)
        changeable = await create_vote(c, cid, allow_change=True)
        for v in (fixed, changeable):
            await open_vote(c, cid, v)
            assert (await cast(c, v, owner, "agree")).status_code == 201

        r = await cast(c, fixed, co_owner, "disagree")
        assert_error(r, 409, "already_voted")

        app.state.clock.advance(timedelta(hours=1))
        r = await cast(c, changeable, co_owner, "disagree")
        assert r.status_code == 201 and r.json()["replaced_previous"] is True
        detail = (await c.get(f"/votes/{changeable['id']}", headers=owner.headers)).json()
        assert detail["my_rooms"][0]["ballot"]["cast_by_me"] is False

        export = await c.get(f"/votes/{changeable['id']}/ballots.csv", headers=manager(cid))
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
        assert rows[0][:4] == ["房屋", "面积(㎡)", "状态", "投票时间"]
        motion = rows[0].index("更换电梯")
        assert [(r[2], r[5], r[motion]) for r in rows[1:]] == [
            ("已被替换", owner.account_id, "同意"),
            ("有效", co_owner.account_id, "反对"),
        ]
        assert (await c.get(f"/votes/{changeable['id']}/ballots.csv", headers=owner.headers)).status_code == 404

        app.state.clock.advance(timedelta(days=7))
        r = await cast(c, changeable, owner, "agree")
        assert_error(r, 409, "vote_not_open")


async def test_bad_ballots_are_refused_and_nothing_is_recorded(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        owner = await owner_of(app, cid, room)
        vote = await create_vote(c, cid)
        survey = (await c.post("/votes", json=survey_body(cid), headers=manager(cid))).json()
        for v in (vote, survey):
            await open_vote(c, cid, v)
        m1, m2 = (i["id"] for i in vote["items"])
        single, multiple, text = (i["id"] for i in survey["items"])
        cases = [
            (vote, [{"item_id": m1, "option_ids": ["agree"]}], "missing_answer"),
            (vote, [{"item_id": m1, "option_ids": ["yes"]}, {"item_id": m2, "option_ids": ["agree"]}], "unknown_option"),
            (vote, [{"item_id": m1, "option_ids": ["agree", "disagree"]}, {"item_id": m2, "option_ids": ["agree"]}], "single_choice"),
            (vote, [{"item_id": m1, "option_ids": ["agree"]}, {"item_id": m1, "option_ids": ["agree"]}, {"item_id": m2, "option_ids": ["agree"]}], "duplicate_answer"),
            (vote, [{"item_id": "nope", "option_ids": ["agree"]}, {"item_id": m2, "option_ids": ["agree"]}], "unknown_item"),
            (survey, [{"item_id": single, "option_ids": ["1", "2"]}, {"item_id": multiple, "option_ids": ["1"]}], "single_choice"),
            (survey, [{"item_id": single, "option_ids": ["1"]}, {"item_id": multiple, "option_ids": ["1", "2", "3"]}], "too_many_choices"),
            (survey, [{"item_id": single, "option_ids": ["1"]}, {"item_id": multiple, "option_ids": []}], "missing_choice"),
            (survey, [{"item_id": single, "option_ids": ["1"]}, {"item_id": multiple, "option_ids": ["1"]}, {"item_id": text, "option_ids": ["1"]}], "text_expected"),
        ]
        for v, answers, code in cases:
            r = await c.post(f"/votes/{v['id']}/ballots", json={"room_id": room["room_id"], "answers": answers}, headers=owner.headers)
            assert_error(r, 422, code)
        assert await count_rows(app, Ballot) == 0 and await count_rows(app, BallotAnswer) == 0


@pytest.mark.parametrize("allow_change", [False, True])
async def test_fifty_concurrent_ballots_for_one_room_leave_exactly_one_standing(database_urls, allow_change):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        owners = [await owner_of(app, cid, room) for _ in range(5)]
        vote = await create_vote(c, cid, allow_change=allow_change)
        await open_vote(c, cid, vote)
        answers = [{"item_id": i["id"], "option_ids": ["agree"]} for i in vote["items"]]

        async def one(n: int):
            return await c.post(
                f"/votes/{vote['id']}/ballots",
                json={"room_id": room["room_id"], "answers": answers},
                headers=owners[n % 5].headers,
            )

        responses = await asyncio.gather(*(one(n) for n in range(50)))
        codes = sorted(r.status_code for r in responses)
        assert set(codes) <= {201, 409}, [r.text for r in responses if r.status_code not in (201, 409)]
        if not allow_change:
            assert codes.count(201) == 1
        standing = await count_rows(app, Ballot, Ballot.active_room_id.is_not(None))
        assert standing == 1
        assert await count_rows(app, Ballot) == codes.count(201)
        await c.post(f"/votes/{vote['id']}/close", headers=manager(cid))
        res = (await c.get(f"/votes/{vote['id']}/results", headers=owners[0].headers)).json()
        assert res["ballots"] == 1 and res["motions"][0]["participation"]["area"] == "89.50"


async def test_the_database_itself_refuses_a_second_standing_ballot(database_urls):
    """The guarantee does not rest on the service's check: the unique constraint holds it."""
    from sqlalchemy.exc import IntegrityError

    from services.common.db import new_id

    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)

        def ballot(active: str | None) -> Ballot:
            return Ballot(id=new_id(), vote_id=vote["id"], community_id=cid, room_id=room["room_id"], active_room_id=active, cast_at=T0)

        async with app.state.sessionmaker() as s:
            s.add_all([ballot(room["room_id"]), ballot(None), ballot(None)])  # replaced ones may pile up
            await s.commit()
        async with app.state.sessionmaker() as s:
            s.add(ballot(room["room_id"]))
            with pytest.raises(IntegrityError):
                await s.commit()
