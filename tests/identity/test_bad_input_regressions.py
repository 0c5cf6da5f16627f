"""Bad input found by fuzzing (schemathesis against the stack on PostgreSQL) that once
answered 500: each answers 4xx in the error shape and changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from services.identity.models import Community, LoginFailure
from tests.identity.factories import identity
from tests.support import admin_token, auth


def _is_nul_refusal(r) -> bool:
    body = r.json()
    return r.status_code == 422 and body["error"]["code"] == "validation_error" and (
        body["error"]["details"][0]["type"] == "nul_character"
    )


async def test_staff_login_with_a_nul_in_the_username_is_422(database_urls):
    async with identity(database_urls) as (app, c, _fake):
        r = await c.post("/auth/staff-login", json={"username": "ro\u0000ot", "password": "x"})
        assert _is_nul_refusal(r)
        assert r.json()["error"]["details"][0]["field"] == "username"
        async with app.state.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(LoginFailure)) == 0


async def test_community_named_with_a_nul_is_422_and_not_created(database_urls):
    async with identity(database_urls) as (app, c, _fake):
        r = await c.post("/communities", json={"name": "阳光\u0000花园"}, headers=auth(admin_token()))
        assert _is_nul_refusal(r)
        async with app.state.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(Community)) == 0
