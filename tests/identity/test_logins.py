"""Logins and tokens: WeChat through the stand-in contract, refresh rotation, staff passwords."""

from __future__ import annotations

import logging

import jwt
from sqlalchemy import select

from services.identity.models import Account
from tests.identity.factories import (
    identity,
    login,
)
from tests.support import assert_error, auth


async def test_wechat_login_creates_the_account_once_and_signs_with_a_published_key(database_urls):
    async with identity(database_urls) as (_app, c, fake):
        first = await login(c, fake, "openid-1")
        second = await login(c, fake, "openid-1")
        assert first["account"]["id"] == second["account"]["id"]
        assert first["expires_in"] == 900 and first["refresh_token"].startswith("rt_")
        header = jwt.get_unverified_header(first["access_token"])
        assert header["alg"] == "EdDSA"
        jwks = (await c.get("/.well-known/jwks.json")).json()
        assert header["kid"] in {k["kid"] for k in jwks["keys"]}
        me = await c.get("/me", headers=auth(first["access_token"]))
        assert me.status_code == 200 and me.json()["account"]["id"] == first["account"]["id"]


async def test_the_session_key_is_never_stored_returned_or_logged(database_urls, caplog):
    caplog.set_level(logging.DEBUG)
    async with identity(database_urls) as (app, c, fake):
        r = await c.post("/auth/wechat-login", json={"code": await fake.login_code("openid-2", unionid="u-2")})
        assert r.status_code == 200
        (session_key,) = fake.session_keys
        assert session_key not in r.text
        async with app.state.sessionmaker() as s:
            account = await s.scalar(select(Account).where(Account.openid == "openid-2"))
            assert account.unionid == "u-2"
            assert session_key not in repr([getattr(account, col.key) for col in Account.__table__.columns])
    assert session_key not in caplog.text


async def test_a_reused_or_unknown_code_is_400_with_a_chinese_message(database_urls):
    async with identity(database_urls) as (_app, c, fake):
        code = await fake.login_code("openid-3")
        assert (await c.post("/auth/wechat-login", json={"code": code})).status_code == 200
        reused = await c.post("/auth/wechat-login", json={"code": code})
        assert_error(reused, 400, "wechat_code_invalid")
        assert "重新登录" in reused.json()["error"]["message"]
        unknown = await c.post("/auth/wechat-login", json={"code": "never-issued"})
        assert unknown.status_code == 400
        bad = await c.post("/auth/wechat-login", json={"code": 12})
        assert_error(bad, 422, "validation_error")


async def test_busy_wechat_is_retried_then_503(database_urls):
    async with identity(database_urls) as (_app, c, fake):
        await fake.fail("/sns/jscode2session", 2, errcode=-1)
        await fake.fail("/sns/jscode2session", 1, http_status=502)
        r = await c.post("/auth/wechat-login", json={"code": await fake.login_code("openid-4")})
        assert r.status_code == 200
        assert fake.calls.count("/sns/jscode2session") == 4

        await fake.fail("/sns/jscode2session", 10, errcode=45011)
        r = await c.post("/auth/wechat-login", json={"code": await fake.login_code("openid-4")})
        assert_error(r, 503, "wechat_unavailable")
        assert fake.calls.count("/sns/jscode2session") == 8  # 1 + 3 retries


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(database_urls):
    async with identity(database_urls) as (_app, c, fake):
        first = await login(c, fake, "openid-5")
        second = await c.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert second.status_code == 200
        assert second.json()["refresh_token"] != first["refresh_token"]
        assert await c.get("/me", headers=auth(second.json()["access_token"]))

        reused = await c.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert_error(reused, 401, "refresh_token_reused")
        # The thief's (or the owner's) newer token of the same family is dead too.
        later = await c.post("/auth/refresh", json={"refresh_token": second.json()["refresh_token"]})
        assert_error(later, 401, "invalid_refresh_token")
        # Another login is another family and still works.
        other = await login(c, fake, "openid-5")
        assert (await c.post("/auth/refresh", json={"refresh_token": other["refresh_token"]})).status_code == 200
        nonsense = await c.post("/auth/refresh", json={"refresh_token": "rt_nonsense"})
        assert nonsense.status_code == 401


async def test_the_first_platform_admin_comes_from_settings_and_is_never_overwritten(database_urls):
    settings = {"platform_admin_username": "root", "platform_admin_password": "first-password"}
    async with identity(database_urls, **settings) as (_app, c, _):
        r = await c.post("/auth/staff-login", json={"username": "root", "password": "first-password"})
        assert r.status_code == 200 and r.json()["account"]["platform_admin"] is True
        created = await c.post("/communities", json={"name": "新小区"}, headers=auth(r.json()["access_token"]))
        assert created.status_code == 201
    settings["platform_admin_password"] = "second-password"
    async with identity(database_urls, **settings) as (_app, c, _):
        assert (await c.post("/auth/staff-login", json={"username": "root", "password": "second-password"})).status_code == 401
        assert (await c.post("/auth/staff-login", json={"username": "root", "password": "first-password"})).status_code == 200


async def test_staff_login_is_limited_per_username_and_ip(database_urls):
    settings = {"platform_admin_username": "root", "platform_admin_password": "right-password"}
    async with identity(database_urls, **settings) as (_app, c, _):
        ip_a = {"X-Forwarded-For": "10.0.0.1"}
        for _ in range(5):
            r = await c.post("/auth/staff-login", json={"username": "root", "password": "wrong"}, headers=ip_a)
            assert r.status_code == 401 and r.json()["error"]["message"] == "用户名或密码错误"
        r = await c.post("/auth/staff-login", json={"username": "root", "password": "right-password"}, headers=ip_a)
        assert_error(r, 429, "too_many_login_attempts")
        assert "retry-after" in r.headers
        ip_b = {"X-Forwarded-For": "10.0.0.2"}
        r = await c.post("/auth/staff-login", json={"username": "root", "password": "right-password"}, headers=ip_b)
        assert r.status_code == 200
        unknown = await c.post("/auth/staff-login", json={"username": "nobody", "password": "x"}, headers=ip_b)
        assert unknown.status_code == 401 and unknown.json()["error"]["message"] == "用户名或密码错误"


async def test_two_first_logins_at_once_make_one_account(database_urls):
    import asyncio

    async with identity(database_urls) as (_app, c, fake):
        codes = [await fake.login_code("openid-race") for _ in range(4)]
        answers = await asyncio.gather(*(c.post("/auth/wechat-login", json={"code": code}) for code in codes))
        assert [a.status_code for a in answers] == [200] * 4
        assert len({a.json()["account"]["id"] for a in answers}) == 1


async def test_wechat_access_token_carries_the_openid_for_content_checks(database_urls):
    async with identity(database_urls) as (app, c, fake):
        me = await login(c, fake, "o-claims")
        claims = jwt.decode(me["access_token"], options={"verify_signature": False})
        assert claims["openid"] == "o-claims"


async def test_failures_count_per_username_across_addresses_with_back_off(database_urls, monkeypatch):
    from services.identity import logins

    # The clock stands still: on a loaded machine the four requests may take more than the
    # 1-second back-off, and the check is about counting, not about the machine's speed.
    frozen = logins.utcnow()
    monkeypatch.setattr(logins, "utcnow", lambda: frozen)
    settings = {"platform_admin_username": "root", "platform_admin_password": "right-password",
                "login_user_free_failures": 3}
    async with identity(database_urls, **settings) as (_app, c, _):
        for n in range(3):  # three addresses, one failure each: under every per-address limit
            r = await c.post("/auth/staff-login", json={"username": "root", "password": "wrong"},
                             headers={"X-Forwarded-For": f"10.1.0.{n}"})
            assert r.status_code == 401
        fresh = {"X-Forwarded-For": "10.1.0.99"}
        r = await c.post("/auth/staff-login", json={"username": "root", "password": "right-password"}, headers=fresh)
        assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_login_attempts"
        assert 1 <= int(r.headers["retry-after"]) <= 1  # 2^0 s after the third failure


async def test_concurrent_guesses_cannot_outrun_the_limit(database_urls):
    import asyncio

    from services.identity.models import LoginFailure

    settings = {"platform_admin_username": "root", "platform_admin_password": "right-password"}
    async with identity(database_urls, **settings) as (app, c, _):
        ip = {"X-Forwarded-For": "10.2.0.1"}
        answers = await asyncio.gather(
            *(c.post("/auth/staff-login", json={"username": "root", "password": f"guess-{n}"}, headers=ip)
              for n in range(20))
        )
        codes = sorted(r.status_code for r in answers)
        # Exactly the limit's worth of passwords were tried; the rest never reached Argon2.
        assert codes.count(401) == 5 and codes.count(429) == 15
        async with app.state.sessionmaker() as s:
            assert len((await s.scalars(select(LoginFailure))).all()) == 5


async def test_the_password_check_runs_outside_any_transaction(database_urls, monkeypatch):
    from services.identity import logins

    settings = {"platform_admin_username": "root", "platform_admin_password": "right-password"}
    async with identity(database_urls, **settings) as (app, c, _):
        held_during_check: list[int] = []

        class WatchingHasher:
            """argon2's hasher, noting how many connections are out while it verifies."""

            def __init__(self, real):
                self.real = real

            def verify(self, hash_: str, password: str) -> bool:
                held_during_check.append(app.state.engine.pool.checkedout())
                return self.real.verify(hash_, password)

            def __getattr__(self, name):
                return getattr(self.real, name)

        monkeypatch.setattr(logins, "_hasher", WatchingHasher(logins._hasher))
        for password in ("wrong", "right-password"):
            await c.post("/auth/staff-login", json={"username": "root", "password": password})
        assert held_during_check == [0, 0]  # no connection (so no transaction, no lock) held
