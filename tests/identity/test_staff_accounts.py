"""Staff accounts on WeChat and their passwords (services/identity/staff_accounts.py and the
`wx_code` of staff-login): linking the WeChat that pushes reach, unlinking, changing and
resetting a password; and `identity.binding.requested` for a binding waiting for review."""

from __future__ import annotations

from sqlalchemy import select

from services.identity.models import Account
from tests.identity.factories import (
    bind,
    identity,
    login,
    new_community,
    outbox,
    room_id,
    setup_community,
)
from tests.support import admin_token, assert_error, auth, crew_token, manager_token


async def _add(c, cid, username, role="crew", department="repair", tok=None):
    body = {"username": username, "password": "s3cret-pass", "name": "李师傅",
            "phone": "13600000002", "role": role}
    if department:
        body["department"] = department
    r = await c.post(f"/communities/{cid}/staff", json=body, headers=auth(tok or admin_token()))
    assert r.status_code == 201, r.text
    return r.json()


async def _openid_of(app, account_id):
    async with app.state.sessionmaker() as s:
        return await s.scalar(select(Account.openid).where(Account.id == account_id))


async def _staff_login(c, username, password="s3cret-pass", **extra):
    return await c.post("/auth/staff-login", json={"username": username, "password": password, **extra})


async def test_staff_login_with_a_wechat_code_links_the_openid_and_tells_the_consumers(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await new_community(c)
        crew = await _add(c, cid, "li.repair")
        r = await _staff_login(c, "li.repair", wx_code=await fake.login_code("o-crew"))
        assert r.status_code == 200, r.text
        assert await _openid_of(app, crew["account_id"]) == "o-crew"
        last = (await outbox(app, "identity.staff.upserted"))[-1]
        assert last.payload["openid"] == "o-crew" and last.payload["account_id"] == crew["account_id"]
        # Logging in again with the same WeChat changes nothing and announces nothing.
        again = await _staff_login(c, "li.repair", wx_code=await fake.login_code("o-crew"))
        assert again.status_code == 200
        assert len(await outbox(app, "identity.staff.upserted")) == 2


async def test_a_wechat_linked_to_another_account_is_refused_with_nothing_changed(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await new_community(c)
        await login(c, fake, "o-owner")  # a resident's account holds this WeChat
        crew = await _add(c, cid, "li.repair")
        events_before = len(await outbox(app))
        r = await _staff_login(c, "li.repair", wx_code=await fake.login_code("o-owner"))
        assert_error(r, 409, "wechat_already_linked")
        assert await _openid_of(app, crew["account_id"]) is None
        assert len(await outbox(app)) == events_before
        # The password was right: the refusal does not count as a failed login.
        assert (await _staff_login(c, "li.repair")).status_code == 200
        # A wrong password with a code stays a wrong password.
        wrong = await _staff_login(c, "li.repair", "nope", wx_code=await fake.login_code("o-9"))
        assert_error(wrong, 401, "invalid_credentials")
        assert await _openid_of(app, crew["account_id"]) is None


async def test_staff_unlink_their_wechat_but_a_wechat_only_account_cannot(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await new_community(c)
        crew = await _add(c, cid, "li.repair")
        tok = (await _staff_login(c, "li.repair", wx_code=await fake.login_code("o-crew"))).json()["access_token"]
        assert (await c.delete("/me/wechat", headers=auth(tok))).status_code == 204
        assert await _openid_of(app, crew["account_id"]) is None
        last = (await outbox(app, "identity.staff.upserted"))[-1]
        assert "openid" in last.payload and last.payload["openid"] is None
        resident = await login(c, fake, "o-owner")
        assert_error(await c.delete("/me/wechat", headers=auth(resident["access_token"])), 409,
                     "wechat_unlink_not_allowed")


async def test_staff_change_their_password_with_the_current_one(database_urls):
    async with identity(database_urls) as (_app, c, _fake):
        cid = await new_community(c)
        await _add(c, cid, "li.repair")
        pair = (await _staff_login(c, "li.repair")).json()
        tok = pair["access_token"]
        wrong = await c.post("/me/password", json={"current_password": "nope", "new_password": "new-pass-123"},
                             headers=auth(tok))
        assert_error(wrong, 400, "wrong_password")
        short = await c.post("/me/password", json={"current_password": "s3cret-pass", "new_password": "short"},
                             headers=auth(tok))
        assert short.status_code == 422
        assert (await _staff_login(c, "li.repair")).status_code == 200  # nothing changed
        ok = await c.post("/me/password", json={"current_password": "s3cret-pass", "new_password": "new-pass-123"},
                          headers=auth(tok))
        assert ok.status_code == 204
        assert_error(await _staff_login(c, "li.repair"), 401, "invalid_credentials")
        assert (await _staff_login(c, "li.repair", "new-pass-123")).status_code == 200
        # The sessions from before the change end.
        assert (await c.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})).status_code == 401


async def test_a_manager_resets_a_crew_members_password_shown_once(database_urls):
    async with identity(database_urls) as (_app, c, _fake):
        cid = await new_community(c)
        crew = await _add(c, cid, "li.repair")
        r = await c.post(f"/communities/{cid}/staff/{crew['id']}/password-reset", headers=auth(manager_token(cid)))
        assert r.status_code == 200
        new_password = r.json()["password"]
        assert_error(await _staff_login(c, "li.repair"), 401, "invalid_credentials")
        assert (await _staff_login(c, "li.repair", new_password)).status_code == 200
        by_admin = await c.post(f"/communities/{cid}/staff/{crew['id']}/password-reset", headers=auth(admin_token()))
        assert by_admin.status_code == 200 and by_admin.json()["password"] != new_password


async def test_a_password_reset_by_anyone_else_is_refused_with_nothing_changed(database_urls):
    async with identity(database_urls) as (_app, c, _fake):
        cid = await new_community(c)
        other = await new_community(c, "翠湖苑")
        crew = await _add(c, cid, "li.repair")
        path = f"/communities/{cid}/staff/{crew['id']}/password-reset"
        assert_error(await c.post(path, headers=auth(manager_token(other))), 404, "community_not_found")
        assert_error(await c.post(path, headers=auth(crew_token(cid))), 404, "community_not_found")
        # The other community's manager, naming their own community and this staff member.
        cross = f"/communities/{other}/staff/{crew['id']}/password-reset"
        assert_error(await c.post(cross, headers=auth(manager_token(other))), 404, "staff_not_found")
        # Staff here and in a community this manager does not manage: not theirs to take over.
        both = await _add(c, cid, "zhang.both", role="manager", department=None)
        await _add(c, other, "zhang.both", role="manager", department=None)
        refused = await c.post(f"/communities/{cid}/staff/{both['id']}/password-reset",
                               headers=auth(manager_token(cid)))
        assert_error(refused, 403, "password_reset_forbidden")
        assert (await _staff_login(c, "li.repair")).status_code == 200
        assert (await _staff_login(c, "zhang.both")).status_code == 200


async def test_a_binding_waiting_for_review_is_announced_without_name_or_phone(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        me = await login(c, fake, "o-2")
        rid = await room_id(c, cid, "1栋101", me["access_token"])
        r = await bind(c, me["access_token"], rid, name="李明", phone="13900000000")
        assert r.json()["status"] == "pending"
        (event,) = await outbox(app, "identity.binding.requested")
        assert event.payload == {"community_id": cid, "binding_id": r.json()["id"], "room_id": rid,
                                 "relation": "owner"}
        assert event.ordering_key == r.json()["id"]


async def test_every_argon2_hash_and_check_runs_with_no_connection_held(database_urls, monkeypatch):
    """Adding staff (a given and a generated password), a reset, a change (wrong, then right)
    and a login that redoes an old hash: Argon2 never runs inside a transaction, where on
    SQLite it would hold the write lock (and on PostgreSQL a pooled connection) for everybody."""
    from services.identity import logins

    async with identity(database_urls) as (app, c, _fake):
        held: list[tuple[str, int]] = []

        class WatchingHasher:
            """argon2's hasher, noting how many connections are out while it works."""

            def __init__(self, real):
                self.real = real
                self.stale = False

            def hash(self, password: str, **kw) -> str:
                held.append(("hash", app.state.engine.pool.checkedout()))
                return self.real.hash(password, **kw)

            def verify(self, hash_: str, password: str) -> bool:
                held.append(("verify", app.state.engine.pool.checkedout()))
                return self.real.verify(hash_, password)

            def check_needs_rehash(self, hash_: str) -> bool:
                return self.stale or self.real.check_needs_rehash(hash_)

            def __getattr__(self, name):
                return getattr(self.real, name)

        hasher = WatchingHasher(logins._hasher)
        monkeypatch.setattr(logins, "_hasher", hasher)
        cid = await new_community(c)
        crew = await _add(c, cid, "li.repair")
        generated = await c.post(f"/communities/{cid}/staff", headers=auth(manager_token(cid)), json={
            "username": "wang.repair", "name": "王师傅", "phone": "13600000003", "role": "crew",
            "department": "repair"})
        assert generated.status_code == 201 and generated.json()["initial_password"]
        reset = await c.post(f"/communities/{cid}/staff/{crew['id']}/password-reset", headers=auth(manager_token(cid)))
        assert reset.status_code == 200
        tok = (await _staff_login(c, "li.repair", reset.json()["password"])).json()["access_token"]
        for current, status in (("nope", 400), (reset.json()["password"], 204)):
            r = await c.post("/me/password", json={"current_password": current, "new_password": "new-pass-123"},
                             headers=auth(tok))
            assert r.status_code == status, r.text
        hasher.stale = True
        assert (await _staff_login(c, "li.repair", "new-pass-123")).status_code == 200
        hasher.stale = False
        assert (await _staff_login(c, "li.repair", "new-pass-123")).status_code == 200  # the redone hash

        kinds = [kind for kind, _ in held]
        assert kinds.count("hash") == 5 and kinds.count("verify") >= 5, kinds
        assert [n for _, n in held] == [0] * len(held), held
