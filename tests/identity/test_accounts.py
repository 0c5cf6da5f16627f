"""Accounts: the WeChat-verified phone and deleting one's own account."""

from __future__ import annotations

from sqlalchemy import select

from services.identity.models import Account, Binding
from tests.identity.factories import (
    bind,
    identity,
    login,
    outbox,
    room_id,
    setup_community,
    verify_phone,
)
from tests.support import assert_error, auth


async def test_the_phone_number_comes_from_a_getphonenumber_code(database_urls):
    async with identity(database_urls) as (_app, c, fake):
        me = await login(c, fake, "openid-phone")
        tok = auth(me["access_token"])
        r = await c.post("/me/phone", json={"code": await fake.phone_code("13512345678")}, headers=tok)
        assert r.status_code == 200 and r.json()["account"]["phone"] == "13512345678"
        assert fake.calls.count("/cgi-bin/stable_token") == 1
        bad = await c.post("/me/phone", json={"code": "used-or-unknown"}, headers=tok)
        assert_error(bad, 400, "wechat_phone_code_invalid")


async def test_deleting_my_account_revokes_bindings_and_erases_my_data(database_urls):
    async with identity(database_urls) as (app, c, fake):
        a = await setup_community(c, "A")
        b = await setup_community(c, "B")
        me = await login(c, fake, "o-leaving")
        tok = me["access_token"]
        await verify_phone(c, fake, tok, "13812341234")
        await bind(c, tok, await room_id(c, a, "1栋101", tok))
        # Pending (the verified phone is not 王芳's): it is revoked without an event.
        await bind(c, tok, await room_id(c, b, "1栋102", tok), name="王芳", phone="13812345678")
        assert (await c.delete("/me", headers=auth(tok))).status_code == 204
        assert len(await outbox(app, "identity.binding.revoked")) == 1
        deleted = await outbox(app, "identity.account.deleted")
        assert {e.payload["community_id"] for e in deleted} == {a, b}
        assert all(e.payload["account_id"] == me["account"]["id"] for e in deleted)
        assert (await c.get("/me", headers=auth(tok))).status_code == 404
        assert (await c.post("/auth/refresh", json={"refresh_token": me["refresh_token"]})).status_code == 401
        async with app.state.sessionmaker() as s:
            account = await s.get(Account, me["account"]["id"])
            assert (account.openid, account.name, account.phone) == (None, None, None)
            rows = (await s.scalars(select(Binding).where(Binding.account_id == account.id))).all()
            assert all(r.phone is None and r.name == "" and r.status == "revoked" for r in rows)
        # Logging in again with WeChat starts a fresh account.
        again = await login(c, fake, "o-leaving")
        assert again["account"]["id"] != me["account"]["id"]
