"""Bad input found by fuzzing (schemathesis against the stack on PostgreSQL) that once
answered 500: each answers 4xx in the error shape and changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from services.identity.models import Community, LoginFailure
from tests.identity.factories import identity
from tests.support import admin_token, assert_error, auth


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



async def _post_raw_community(c, content: bytes):
    return await c.post(
        "/communities", content=content, headers={**auth(admin_token()), "Content-Type": "application/json"}
    )


async def _communities(app) -> int:
    async with app.state.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(Community)))


async def test_a_body_that_is_not_utf8_gets_a_clear_400_and_creates_nothing(database_urls):
    async with identity(database_urls) as (app, c, _fake):
        r = await _post_raw_community(c, b'{"name": "\xb0\xa2\xb9\xe2"}')  # GBK, not UTF-8
        assert_error(r, 400, "body_unparsable")
        assert "无法解析" in r.json()["error"]["message"]
        assert await _communities(app) == 0


async def test_a_lone_surrogate_in_a_string_is_named_as_an_invalid_character(database_urls):
    async with identity(database_urls) as (app, c, _fake):
        r = await _post_raw_community(c, b'{"name": "\\ud800"}')
        assert r.status_code == 422
        assert r.json()["error"]["details"] == [{"field": "name", "type": "string_unicode", "message": "包含无效的字符"}]
        assert await _communities(app) == 0


async def test_a_deeply_nested_body_with_a_nul_is_refused_not_a_500(database_urls):
    async with identity(database_urls) as (app, c, _fake):
        for depth in (200, 50_000):  # decodable, then past the decoder's recursion limit
            nested = b"[" * depth + b'"\\u0000"' + b"]" * depth
            r = await _post_raw_community(c, b'{"name": "x", "extra": ' + nested + b"}")
            assert r.status_code in (400, 422), (depth, r.text)
            assert r.json()["error"]["code"] in ("validation_error", "body_unparsable")
        assert await _communities(app) == 0
