"""Bad input found by fuzzing (schemathesis against the stack on PostgreSQL) that once
answered 500: each answers 4xx in the error shape and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.notices.models import Notice
from tests.notices.factories import Community, notice_body, notices_app
from tests.support import client_for

# Valid ISO datetimes whose instant lies outside the years 1..9999 once in UTC.
UNREPRESENTABLE = ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-01:00"]


@pytest.mark.parametrize("field", ["publish_at", "expires_at"])
@pytest.mark.parametrize("value", UNREPRESENTABLE)
async def test_notice_times_beyond_the_representable_range_are_422(database_urls, field, value):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        await c.room()
        r = await client.post("/notices", json=notice_body(c, **{field: value}), headers=c.manager)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0]["message"] == "时间超出可表示的范围"
        async with app.state.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(Notice)) == 0
