"""Bad input leaves nothing changed; one standing ballot per room under 50 concurrent casts."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.votes.models import Ballot, BallotAnswer, Vote, VoteItem
from tests import identity_events as ie
from tests.support import client_for, running_app
from tests.votes.helpers import T0, count_rows, create_vote, manager, open_vote, owner_of, vote_body


def _app(database_urls):
    return running_app("votes", database_urls["votes"], scheduler_interval_seconds=0)


def _is_chinese(message: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in message)


BAD_VOTES = [
    ("a vote with no motions", {"motions": []}, 422),
    ("a vote with motions missing", {"motions": None}, 422),
    ("closing before opening", {"opens_at": (T0 + timedelta(days=3)).isoformat(), "closes_at": (T0 + timedelta(days=2)).isoformat()}, 422),
    ("closing already past", {"closes_at": (T0 - timedelta(minutes=1)).isoformat()}, 422),
    ("a naive closing time", {"closes_at": "2026-12-08T10:00:00"}, 422),
    ("scope with an unknown building", {"scope": {"building_ids": ["no-such-building"]}}, 422),
    ("an empty building list", {"scope": {"building_ids": []}}, 422),
    ("an unknown matter", {"motions": [{"title": "x", "matter": "huge"}]}, 422),
    ("an anonymous vote", {"anonymous": True}, 422),
    ("a survey with motions", {"kind": "survey"}, 422),
    ("a single-choice question with one option", {"kind": "survey", "motions": None, "questions": [{"title": "q", "type": "single", "options": ["a"]}]}, 422),
    ("a maximum above the options", {"kind": "survey", "motions": None, "questions": [{"title": "q", "type": "multiple", "options": ["a", "b"], "max_choices": 3}]}, 422),
    ("an unknown field", {"colour": "red"}, 422),
]


@pytest.mark.parametrize("story,overrides,status", BAD_VOTES, ids=[b[0] for b in BAD_VOTES])
async def test_bad_vote_is_refused_in_chinese_and_nothing_is_created(database_urls, story, overrides, status):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        await ie.room(app, cid)
        r = await c.post("/votes", json=vote_body(cid, **overrides), headers=manager(cid))
        assert r.status_code == status, r.text
        assert _is_chinese(r.json()["error"]["message"])
        assert await count_rows(app, Vote) == 0 and await count_rows(app, VoteItem) == 0


async def test_only_managers_of_the_community_create_votes(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        r = await c.post("/votes", json=vote_body(cid), headers=manager(str(uuid.uuid4())))
        assert r.status_code == 404
        assert (await c.post("/votes", json=vote_body(cid))).status_code == 401
        assert await count_rows(app, Vote) == 0


async def test_editing_a_draft_works_and_after_opening_is_refused(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        await ie.room(app, cid)
        vote = await create_vote(c, cid)
        r = await c.patch(
            f"/votes/{vote['id']}", json={"title": "新标题", "motions": [{"title": "唯一议题"}]}, headers=manager(cid)
        )
        assert r.status_code == 200 and r.json()["title"] == "新标题" and len(r.json()["items"]) == 1
        bad = await c.patch(f"/votes/{vote['id']}", json={"scope": {"building_ids": ["nope"]}}, headers=manager(cid))
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_building"
        bad = await c.patch(
            f"/votes/{vote['id']}", json={"closes_at": (T0 - timedelta(hours=1)).isoformat()}, headers=manager(cid)
        )
        assert bad.status_code == 422
        for change in ({"anonymous": True}, {"questions": [{"title": "q", "type": "text"}]}, {"motions": None},
                       {"opens_at": (T0 + timedelta(days=30)).isoformat()}):
            bad = await c.patch(f"/votes/{vote['id']}", json=change, headers=manager(cid))
            assert bad.status_code == 422 and _is_chinese(bad.json()["error"]["message"]), (change, bad.text)
        await open_vote(c, cid, vote)
        r = await c.patch(f"/votes/{vote['id']}", json={"title": "再改"}, headers=manager(cid))
        assert r.status_code == 409 and r.json()["error"]["code"] == "vote_not_editable"
        assert _is_chinese(r.json()["error"]["message"])
        again = await c.post(f"/votes/{vote['id']}/open", headers=manager(cid))
        assert again.status_code == 409
        detail = (await c.get(f"/votes/{vote['id']}", headers=manager(cid))).json()
        assert detail["title"] == "新标题" and detail["electorate_rooms"] == 1
        assert detail["anonymous"] is False and detail["opens_at"] is None


async def test_opening_with_no_rooms_in_scope_is_refused(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        vote = await create_vote(c, cid)
        r = await c.post(f"/votes/{vote['id']}/open", headers=manager(cid))
        assert r.status_code == 409 and r.json()["error"]["code"] == "empty_electorate"
        assert (await c.get(f"/votes/{vote['id']}", headers=manager(cid))).json()["status"] == "draft"


def _survey(cid: str) -> dict[str, Any]:
    return vote_body(
        cid,
        kind="survey",
        motions=None,
        questions=[
            {"title": "单选", "type": "single", "options": ["甲", "乙"]},
            {"title": "多选", "type": "multiple", "options": ["一", "二", "三"], "max_choices": 2},
            {"title": "建议", "type": "text"},
        ],
    )


async def test_bad_ballots_are_refused_and_nothing_is_recorded(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        owner = await owner_of(app, cid, room)
        vote = await create_vote(c, cid)
        survey = (await c.post("/votes", json=_survey(cid), headers=manager(cid))).json()
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
            assert r.status_code == 422, (code, r.text)
            assert r.json()["error"]["code"] == code and _is_chinese(r.json()["error"]["message"])
        assert await count_rows(app, Ballot) == 0 and await count_rows(app, BallotAnswer) == 0


@pytest.mark.parametrize("allow_change", [False, True])
async def test_fifty_concurrent_ballots_for_one_room_leave_exactly_one_standing(database_urls, allow_change):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
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


async def test_surveys_count_options_and_show_free_text_to_managers_only(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        rooms = [await ie.room(app, cid, room_no=f"10{n}") for n in range(3)]
        owners = [await owner_of(app, cid, r) for r in rooms]
        survey = (await c.post("/votes", json=_survey(cid) | {"anonymous": True}, headers=manager(cid))).json()
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
        assert export.text.lstrip("\ufeff").splitlines()[0] == "房屋,面积(㎡),状态,投票时间"
        assert len(export.text.strip().splitlines()) == 4


async def test_an_anonymous_survey_cannot_allow_changes(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        r = await c.post("/votes", json=_survey(cid) | {"anonymous": True, "allow_change": True}, headers=manager(cid))
        assert r.status_code == 422 and _is_chinese(r.json()["error"]["message"])


async def test_the_database_itself_refuses_a_second_standing_ballot(database_urls):
    """The guarantee does not rest on the service's check: the unique constraint holds it."""
    from sqlalchemy.exc import IntegrityError

    from services.common.db import new_id

    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
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


async def test_garbage_cursors_and_ids_are_4xx_not_500(database_urls):
    import base64
    import json

    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        owner = await owner_of(app, cid, room)
        survey = (await c.post("/votes", json=_survey(cid), headers=manager(cid))).json()
        await open_vote(c, cid, survey)
        bad = base64.urlsafe_b64encode(json.dumps(["not a time", "x"]).encode()).decode().rstrip("=")
        for cursor in ("%%%", bad, "W10"):
            r = await c.get(f"/votes?community_id={cid}&cursor={cursor}", headers=manager(cid))
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_cursor"
        assert (await c.get("/votes/" + "x" * 37, headers=manager(cid))).status_code in (404, 422)
        r = await c.get(f"/votes/{survey['id']}/results/rooms", headers=owner.headers)
        assert r.status_code == 409 and r.json()["error"]["code"] == "no_room_results"
        r = await c.post(f"/votes/{survey['id']}/ballots", content=b"{not json", headers=owner.headers | {"content-type": "application/json"})
        assert r.status_code == 422


async def test_closing_while_ballots_arrive_publishes_exactly_the_ballots_recorded(database_urls):
    cid = str(uuid.uuid4())
    async with _app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        owners = [await owner_of(app, cid, await ie.room(app, cid, room_no=f"{n:03d}")) for n in range(20)]
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        answers = [{"item_id": i["id"], "option_ids": ["agree"]} for i in vote["items"]]

        async def ballot(o):
            return await c.post(f"/votes/{vote['id']}/ballots", json={"room_id": o.room_id, "answers": answers}, headers=o.headers)

        async def close():
            await asyncio.sleep(0.01)
            return await c.post(f"/votes/{vote['id']}/close", headers=manager(cid))

        *ballots, closed = await asyncio.gather(*(ballot(o) for o in owners), close())
        assert closed.status_code == 200
        accepted = [r for r in ballots if r.status_code == 201]
        assert all(r.status_code in (201, 409) for r in ballots)
        res = (await c.get(f"/votes/{vote['id']}/results", headers=owners[0].headers)).json()
        assert res["ballots"] == len(accepted) == await count_rows(app, Ballot)
