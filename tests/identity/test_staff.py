"""Staff (services/identity/staff.py): adding, listing with masked phones, removing; the
roles staff carry in their tokens."""

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
