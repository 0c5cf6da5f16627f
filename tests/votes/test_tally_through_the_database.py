"""The database aggregation gives what the pure one-pass tally gives, on random electorates
with shared owners, the developer's rooms and split votes, cast through the API."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.votes import rules, service
from services.votes.models import Elector, Vote
from tests import identity_events as ie
from tests.support import client_for, running_app
from tests.votes.helpers import T0, create_vote, manager, open_vote, owner_of


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_sql_aggregation_matches_the_pure_tally(database_urls, seed):
    rng = random.Random(seed)
    cid = str(uuid.uuid4())
    async with running_app("votes", database_urls["votes"], scheduler_interval_seconds=0) as app, client_for(app) as c:
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
                rules.Elector(e.room_id, Decimal(e.area_hundredths).scaleb(-2), e.state, e.owner_key)
                for e in (await s.scalars(select(Elector).where(Elector.vote_id == vote["id"]))).all()
            ]
            v = await s.get(Vote, vote["id"])
            for mode in rules.HEADCOUNT_MODES:
                for follow in (False, True):
                    settings = {"multi_room_headcount": mode, "non_voters_follow_majority": follow}
                    v.tally_settings = settings
                    got = (await service.compute_results(s, v))["motions"]
                    tally_rules = rules.TallyRules.from_settings(settings)
                    want = [
                        rules.motion_result(i["id"], i["title"], rules.tally_motion(electorate, choices[i["id"]], i["matter"], tally_rules))
                        for i in vote["items"]
                    ]
                    assert got == want, (mode, follow)
            await s.rollback()
        r = await c.get(f"/votes/{vote['id']}", headers=manager(cid))
        assert r.json()["ballots_cast"] == sum(1 for x in choices[vote["items"][0]["id"]])
