"""The tally (services/votes/tally.py): the database aggregation gives what the pure one-pass
tally gives, on random electorates with shared owners, the developer's rooms and split votes,
cast through the API; surveys count options and show free text to managers only."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.votes import rules, tally, tally_rules
from services.votes.models import Ballot, BallotAnswer, Elector, Vote
from tests.common.identity_replica import factories as ie
from tests.support import client_for
from tests.votes.factories import (
    T0,
    create_vote,
    manager,
    open_vote,
    owner_of,
    survey_body,
    votes_app,
)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_sql_aggregation_matches_the_pure_tally(database_urls, seed):
    rng = random.Random(seed)
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        rooms = []
        for n in range(14):
            state = rng.choice(["delivered", "delivered", "delivered", "sold", "unsold"])
            key = rng.choice(["wang", "li", "zhao"]) if rng.random() < 0.5 else f"own-{n}"
            rooms.append(
                await ie.room(
                    app, cid, room_no=f"{n:03d}", area=f"{rng.randint(1000, 20000) / 100:.2f}", state=state, owner_key=key
                )
            )
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        choices: dict[str, dict[str, str]] = {i["id"]: {} for i in vote["items"]}
        for r in rooms:
            if rng.random() < 0.25:
                continue
            owner = await owner_of(app, cid, r)
            answers = []
            for item in vote["items"]:
                pick = rng.choice(rules.MOTION_OPTIONS)
                choices[item["id"]][r["room_id"]] = pick
                answers.append({"item_id": item["id"], "option_ids": [pick]})
            resp = await c.post(f"/votes/{vote['id']}/ballots", json={"room_id": r["room_id"], "answers": answers}, headers=owner.headers)
            assert resp.status_code == 201, resp.text
        async with app.state.sessionmaker() as s:
            electorate = [
                tally_rules.Elector(e.room_id, Decimal(e.area_hundredths).scaleb(-2), e.state, e.owner_key)
                for e in (await s.scalars(select(Elector).where(Elector.vote_id == vote["id"]))).all()
            ]
            v = await s.get(Vote, vote["id"])
            for mode in tally_rules.HEADCOUNT_MODES:
                for follow in (False, True):
                    settings = {"multi_room_headcount": mode, "non_voters_follow_majority": follow}
                    v.tally_settings = settings
                    got = (await tally.compute_results(s, v))["motions"]
                    chosen = tally_rules.TallyRules.from_settings(settings)
                    want = [
                        tally.motion_result(i["id"], i["title"], tally_rules.tally_motion(electorate, choices[i["id"]], i["matter"], chosen))
                        for i in vote["items"]
                    ]
                    assert got == want, (mode, follow)
            await s.rollback()
        r = await c.get(f"/votes/{vote['id']}", headers=manager(cid))
        assert r.json()["ballots_cast"] == sum(1 for x in choices[vote["items"][0]["id"]])


async def test_surveys_count_options_and_show_free_text_to_managers_only(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        rooms = [await ie.room(app, cid, room_no=f"10{n}") for n in range(3)]
        owners = [await owner_of(app, cid, r) for r in rooms]
        survey = (await c.post("/votes", json=survey_body(cid) | {"anonymous": True}, headers=manager(cid))).json()
        await open_vote(c, cid, survey)
        single, multiple, text = (i["id"] for i in survey["items"])
        picks = [(["1"], ["1", "2"], "电梯太旧"), (["2"], ["2"], None), (["1"], ["3"], "  ")]
        for o, (s, m, t) in zip(owners, picks, strict=False):
            answers = [{"item_id": single, "option_ids": s}, {"item_id": multiple, "option_ids": m}]
            if t is not None:
                answers.append({"item_id": text, "text": t})
            r = await c.post(f"/votes/{survey['id']}/ballots", json={"room_id": o.room_id, "answers": answers}, headers=o.headers)
            assert r.status_code == 201, r.text
        again = await c.post(
            f"/votes/{survey['id']}/ballots",
            json={"room_id": owners[0].room_id, "answers": [{"item_id": single, "option_ids": ["2"]}, {"item_id": multiple, "option_ids": ["2"]}]},
            headers=owners[0].headers,
        )
        assert again.status_code == 409
        # Anonymous: the ballot keeps the room, not who, and its answers are not linked to it.
        async with app.state.sessionmaker() as s:
            ballots = (await s.scalars(select(Ballot))).all()
            assert {b.cast_by for b in ballots} == {None}
            assert all(b.cast_at.hour == 0 for b in ballots)
            assert {a.ballot_id for a in (await s.scalars(select(BallotAnswer))).all()} == {None}

        await c.post(f"/votes/{survey['id']}/close", headers=manager(cid))
        mine = (await c.get(f"/votes/{survey['id']}/results", headers=owners[1].headers)).json()
        q_single, q_multiple, q_text = mine["questions"]
        assert [o["count"] for o in q_single["options"]] == [2, 1]
        assert [o["count"] for o in q_multiple["options"]] == [1, 2, 1]
        assert "texts" not in q_text and mine["motions"] == []
        managed = (await c.get(f"/votes/{survey['id']}/results", headers=manager(cid))).json()
        assert managed["questions"][2]["texts"] == ["电梯太旧"]
        export = await c.get(f"/votes/{survey['id']}/ballots.csv", headers=manager(cid))
        assert export.text.lstrip("\ufeff").splitlines()[0] == "房屋,面积(㎡),状态,投票时间,方式"
        assert len(export.text.strip().splitlines()) == 4
