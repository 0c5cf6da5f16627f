"""Creating and editing drafts; bad input leaves nothing changed (services/votes/drafts.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.votes.models import Vote, VoteItem
from tests.common.identity_replica import factories as ie
from tests.support import assert_error, client_for
from tests.votes.factories import (
    T0,
    count_rows,
    create_vote,
    manager,
    open_vote,
    survey_body,
    vote_body,
    votes_app,
)

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
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        await ie.room(app, cid)
        r = await c.post("/votes", json=vote_body(cid, **overrides), headers=manager(cid))
        assert_error(r, status)
        assert await count_rows(app, Vote) == 0 and await count_rows(app, VoteItem) == 0


async def test_only_managers_of_the_community_create_votes(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        r = await c.post("/votes", json=vote_body(cid), headers=manager(str(uuid.uuid4())))
        assert_error(r, 404, "community_not_found")
        assert (await c.post("/votes", json=vote_body(cid))).status_code == 401
        assert await count_rows(app, Vote) == 0


async def test_editing_a_draft_works_and_after_opening_is_refused(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        await ie.room(app, cid)
        vote = await create_vote(c, cid)
        r = await c.patch(
            f"/votes/{vote['id']}", json={"title": "新标题", "motions": [{"title": "唯一议题"}]}, headers=manager(cid)
        )
        assert r.status_code == 200 and r.json()["title"] == "新标题" and len(r.json()["items"]) == 1
        bad = await c.patch(f"/votes/{vote['id']}", json={"scope": {"building_ids": ["nope"]}}, headers=manager(cid))
        assert_error(bad, 422, "unknown_building")
        bad = await c.patch(
            f"/votes/{vote['id']}", json={"closes_at": (T0 - timedelta(hours=1)).isoformat()}, headers=manager(cid)
        )
        assert bad.status_code == 422
        for change in ({"anonymous": True}, {"questions": [{"title": "q", "type": "text"}]}, {"motions": None},
                       {"opens_at": (T0 + timedelta(days=30)).isoformat()}):
            bad = await c.patch(f"/votes/{vote['id']}", json=change, headers=manager(cid))
            assert_error(bad, 422)
        await open_vote(c, cid, vote)
        r = await c.patch(f"/votes/{vote['id']}", json={"title": "再改"}, headers=manager(cid))
        assert_error(r, 409, "vote_not_editable")
        again = await c.post(f"/votes/{vote['id']}/open", headers=manager(cid))
        assert again.status_code == 409
        detail = (await c.get(f"/votes/{vote['id']}", headers=manager(cid))).json()
        assert detail["title"] == "新标题" and detail["electorate_rooms"] == 1
        assert detail["anonymous"] is False and detail["opens_at"] is None


async def test_an_anonymous_survey_cannot_allow_changes(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        r = await c.post("/votes", json=survey_body(cid) | {"anonymous": True, "allow_change": True}, headers=manager(cid))
        assert_error(r, 422)
