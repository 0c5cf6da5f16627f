"""Bad input found by fuzzing (schemathesis against the stack on PostgreSQL) that once
answered 500: each answers 4xx in the error shape and changes nothing."""

from __future__ import annotations

import uuid

import pytest

from services.votes.models import Vote
from tests.common.identity_replica import factories as ie
from tests.support import client_for
from tests.votes.factories import T0, count_rows, create_vote, manager, vote_body, votes_app

# Valid ISO datetimes whose instant lies outside the years 1..9999 once in UTC.
UNREPRESENTABLE = ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-01:00"]


@pytest.mark.parametrize("field", ["opens_at", "closes_at"])
@pytest.mark.parametrize("value", UNREPRESENTABLE)
async def test_vote_times_beyond_the_representable_range_are_422(database_urls, field, value):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        await ie.room(app, cid)
        r = await c.post("/votes", json=vote_body(cid, **{field: value}), headers=manager(cid))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0] == {"field": field, "type": "value_error", "message": "时间超出可表示的范围"}
        assert await count_rows(app, Vote) == 0

        vote = await create_vote(c, cid)
        r = await c.patch(f"/votes/{vote['id']}", json={field: value}, headers=manager(cid))
        assert r.status_code == 422, r.text
        assert (await c.get(f"/votes/{vote['id']}", headers=manager(cid))).json()[field] == vote[field]
