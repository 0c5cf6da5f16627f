"""Staff (services/identity/staff.py): adding, listing with masked phones, removing; the
roles staff carry in their tokens, refused at once when a role ends or shrinks; a manager
cannot reach accounts outside their community."""

from __future__ import annotations

import jwt

from tests.identity.factories import identity, new_community, outbox
from tests.support import admin_token, assert_error, auth, crew_token, manager_token


async def test_staff_get_their_roles_in_the_token_and_lose_them_when_removed(database_urls):
    async with identity(database_urls) as (_app, c, _):
        cid = await new_community(c)
        added = await c.post(
            f"/communities/{cid}/staff",
            json={"username": "wang.manager", "password": "s3cret-pass", "name": "王经理",
                  "phone": "13600000001", "role": "manager"},
            headers=auth(admin_token()),
        )
        assert added.status_code == 201 and added.json()["initial_password"] is None
        login_r = await c.post("/auth/staff-login", json={"username": "wang.manager", "password": "s3cret-pass"})
        assert login_r.status_code == 200
        claims = jwt.decode(login_r.json()["access_token"], options={"verify_signature": False})
        assert claims["staff"] == {cid: {"role": "manager", "department": None}}

        crew = await c.post(
            f"/communities/{cid}/staff",
            json={"username": "li.repair", "name": "李师傅", "phone": "13600000002", "role": "crew",
                  "department": "repair"},
            headers=auth(login_r.json()["access_token"]),
        )
        assert crew.status_code == 201
        password = crew.json()["initial_password"]
        crew_login = await c.post("/auth/staff-login", json={"username": "li.repair", "password": password})
        assert crew_login.status_code == 200

        removed = await c.delete(f"/communities/{cid}/staff/{crew.json()['id']}", headers=auth(login_r.json()["access_token"]))
        assert removed.status_code == 204
        refreshed = await c.post("/auth/refresh", json={"refresh_token": crew_login.json()["refresh_token"]})
        assert refreshed.status_code == 401
        again = await c.post("/auth/staff-login", json={"username": "li.repair", "password": password})
        assert_error(again, 403, "account_disabled")


async def test_staff_input_is_checked(database_urls):
    async with identity(database_urls) as (_app, c, _):
        cid = await new_community(c)
        bad = [
            {"username": "x1", "name": "a", "phone": "13600000001", "role": "manager"},
            {"username": "crew1", "name": "a", "phone": "13600000001", "role": "crew"},
            {"username": "crew1", "name": "a", "phone": "1360000", "role": "crew", "department": "repair"},
            {"username": "crew1", "name": "a", "phone": "13600000001", "role": "boss"},
            {"username": "crew1", "name": "a", "phone": "13600000001", "role": "crew", "department": "kitchen"},
        ]
        for body in bad:
            r = await c.post(f"/communities/{cid}/staff", json=body, headers=auth(manager_token(cid)))
            assert r.status_code == 422, body
            assert r.json()["error"]["message"].startswith("请求参数不正确")
        listing = await c.get(f"/communities/{cid}/staff", headers=auth(manager_token(cid)))
        assert listing.json()["items"] == []


async def test_crew_see_masked_phones_and_managers_the_numbers(database_urls):
    async with identity(database_urls) as (app, c, _fake):
        cid = await new_community(c)
        await c.post(
            f"/communities/{cid}/staff",
            json={"username": "li.repair", "name": "李师傅", "phone": "13600000002", "role": "crew", "department": "repair"},
            headers=auth(manager_token(cid)),
        )
        as_crew = (await c.get(f"/communities/{cid}/staff", headers=auth(crew_token(cid)))).json()
        as_manager = (await c.get(f"/communities/{cid}/staff", headers=auth(manager_token(cid)))).json()
        assert as_crew["items"][0]["phone"] == "136****0002"
        assert as_manager["items"][0]["phone"] == "13600000002"
        (event,) = await outbox(app, "identity.staff.upserted")
        assert event.payload["department"] == "repair" and event.ordering_key == event.payload["account_id"]


# --- trust: stale roles and accounts of other communities ------------------------------


def _staff(username: str, role: str = "crew", password: str | None = "pass-word-1") -> dict:
    body = {"username": username, "name": "李师傅", "phone": "13600000002", "role": role,
            "department": "repair" if role == "crew" else None}
    if password:
        body["password"] = password
    return body


async def _login(c, username: str, password: str = "pass-word-1") -> dict:
    r = await c.post("/auth/staff-login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


async def test_removal_refuses_old_tokens_and_a_refresh_keeps_the_other_community(database_urls):
    async with identity(database_urls) as (app, c, _):
        a, b = await new_community(c, "东区"), await new_community(c, "西区")
        admin = auth(admin_token())
        in_a = (await c.post(f"/communities/{a}/staff", json=_staff("li.repair"), headers=admin)).json()
        assert (await c.post(f"/communities/{b}/staff", json=_staff("li.repair"), headers=admin)).status_code == 201
        pair = await _login(c, "li.repair")
        old = auth(pair["access_token"])
        assert (await c.get(f"/communities/{a}", headers=old)).status_code == 200

        assert (await c.delete(f"/communities/{a}/staff/{in_a['id']}", headers=admin)).status_code == 204
        await app.state.token_verifier.role_changes.sync_once()
        assert_error(await c.get(f"/communities/{b}", headers=old), 401, "roles_changed")

        refreshed = await c.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        claims = jwt.decode(refreshed.json()["access_token"], options={"verify_signature": False})
        assert set(claims["staff"]) == {b} and claims["rv"] == 1
        new = auth(refreshed.json()["access_token"])
        assert (await c.get(f"/communities/{b}", headers=new)).status_code == 200
        assert_error(await c.get(f"/communities/{a}", headers=new), 404, "community_not_found")


async def test_demoting_a_manager_to_crew_ends_the_manager_token(database_urls):
    async with identity(database_urls) as (app, c, _):
        cid = await new_community(c)
        admin = auth(admin_token())
        await c.post(f"/communities/{cid}/staff", json=_staff("wang.mgr", "manager"), headers=admin)
        manager = auth((await _login(c, "wang.mgr"))["access_token"])
        assert (await c.get(f"/communities/{cid}/staff", headers=manager)).status_code == 200
        demoted = await c.post(f"/communities/{cid}/staff", json=_staff("wang.mgr", "crew"), headers=admin)
        assert demoted.status_code == 201
        await app.state.token_verifier.role_changes.sync_once()
        assert_error(await c.get(f"/communities/{cid}/staff", headers=manager), 401, "roles_changed")
        # Re-adding with the same role changes nothing, so tokens stay good.
        crew = auth((await _login(c, "wang.mgr"))["access_token"])
        await c.post(f"/communities/{cid}/staff", json=_staff("wang.mgr", "crew"), headers=admin)
        await app.state.token_verifier.role_changes.sync_once()
        assert (await c.get(f"/communities/{cid}", headers=crew)).status_code == 200


async def test_a_manager_cannot_link_or_remove_accounts_of_another_community(database_urls):
    root = {"platform_admin_username": "root.admin", "platform_admin_password": "root-pass-123"}
    async with identity(database_urls, **root) as (_app, c, _):
        a, b = await new_community(c, "东区"), await new_community(c, "西区")
        admin = auth(admin_token())
        await c.post(f"/communities/{b}/staff", json=_staff("zhao.crew"), headers=admin)
        zhao = await _login(c, "zhao.crew")
        manager_of_a = auth(manager_token(a))
        for username in ("zhao.crew", "root.admin"):
            r = await c.post(f"/communities/{a}/staff", json=_staff(username, password=None), headers=manager_of_a)
            assert_error(r, 409, "username_taken")
        listing = (await c.get(f"/communities/{a}/staff", headers=manager_of_a)).json()
        assert listing["items"] == []
        # zhao's sessions are untouched: the refresh token still works.
        assert (await c.post("/auth/refresh", json={"refresh_token": zhao["refresh_token"]})).status_code == 200
        # Linking across communities is the platform admin's act.
        assert (await c.post(f"/communities/{a}/staff", json=_staff("zhao.crew"), headers=admin)).status_code == 201


async def test_a_manager_may_re_add_former_staff_of_their_own_community(database_urls):
    async with identity(database_urls) as (_app, c, _):
        cid = await new_community(c)
        manager = auth(manager_token(cid))
        added = (await c.post(f"/communities/{cid}/staff", json=_staff("qian.crew"), headers=manager)).json()
        assert (await c.delete(f"/communities/{cid}/staff/{added['id']}", headers=manager)).status_code == 204
        again = await c.post(f"/communities/{cid}/staff", json=_staff("qian.crew"), headers=manager)
        assert again.status_code == 201 and again.json()["id"] == added["id"]
