"""Households (services/identity/households.py): an owner's invitations, the family member who
accepts one, and the household falling with the owner's binding."""

from __future__ import annotations

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


async def test_an_owner_invites_family_who_fall_with_the_owner(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        owner = await login(c, fake, "o-owner")
        rid = await room_id(c, cid, "1栋101", owner["access_token"])
        await verify_phone(c, fake, owner["access_token"], "13812341234")
        own = (await bind(c, owner["access_token"], rid)).json()
        inv = await c.post(f"/me/bindings/{own['id']}/invitations", json={"relation": "family"}, headers=auth(owner["access_token"]))
        assert inv.status_code == 201
        code = inv.json()["invite_code"]

        family = await login(c, fake, "o-family")
        fam = await c.post(
            "/me/bindings/accept-invitation",
            json={"invite_code": code, "name": "李小明", "phone": "13911112222"},
            headers=auth(family["access_token"]),
        )
        assert fam.status_code == 201
        assert fam.json()["status"] == "verified" and fam.json()["parent_binding_id"] == own["id"]
        assert fam.json()["relation"] == "family" and fam.json()["display_name"] == "1栋101李小明"

        stranger = await login(c, fake, "o-stranger")
        reused = await c.post(
            "/me/bindings/accept-invitation",
            json={"invite_code": code, "name": "路人", "phone": "13911113333"},
            headers=auth(stranger["access_token"]),
        )
        assert_error(reused, 400, "invitation_invalid")

        # The owner sees the household with the family member's phone masked; she sees her own.
        owner_view = (await c.get("/me", headers=auth(owner["access_token"]))).json()
        assert owner_view["bindings"][0]["household"] == [
            {"id": fam.json()["id"], "relation": "family", "name": "李小明", "phone": "139****2222",
             "status": "verified", "display_name": "1栋101李小明"}
        ]
        fam_view = (await c.get("/me", headers=auth(family["access_token"]))).json()
        assert fam_view["bindings"][0]["phone"] == "13911112222"

        # Only a verified owner invites; a family member cannot.
        no = await c.post(f"/me/bindings/{fam.json()['id']}/invitations", json={"relation": "tenant"}, headers=auth(family["access_token"]))
        assert no.status_code == 409
        # Nor may anyone invite from someone else's binding.
        no = await c.post(f"/me/bindings/{own['id']}/invitations", json={"relation": "tenant"}, headers=auth(stranger["access_token"]))
        assert no.status_code == 404

        gone = await c.delete(f"/me/bindings/{own['id']}", headers=auth(owner["access_token"]))
        assert gone.status_code == 200 and gone.json()["status"] == "revoked"
        revoked = {e.payload["binding_id"]: e.payload for e in await outbox(app, "identity.binding.revoked")}
        assert set(revoked) == {own["id"], fam.json()["id"]}
        assert revoked[fam.json()["id"]]["relation"] == "family"
        fam_view = (await c.get("/me", headers=auth(family["access_token"]))).json()
        assert fam_view["bindings"][0]["status"] == "revoked"
        again = await c.delete(f"/me/bindings/{own['id']}", headers=auth(owner["access_token"]))
        assert again.status_code == 409


async def test_an_owner_removes_family_and_tenants_of_their_room_and_nobody_else_can(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        owner = await login(c, fake, "o-landlord")
        await verify_phone(c, fake, owner["access_token"], "13812341234")
        own = (await bind(c, owner["access_token"], await room_id(c, cid, "1栋101", owner["access_token"]))).json()
        inv = await c.post(f"/me/bindings/{own['id']}/invitations", json={"relation": "tenant"},
                           headers=auth(owner["access_token"]))
        tenant = await login(c, fake, "o-tenant")
        ten = (await c.post("/me/bindings/accept-invitation",
                            json={"invite_code": inv.json()["invite_code"], "name": "赵租", "phone": "13911113333"},
                            headers=auth(tenant["access_token"]))).json()
        members = await c.get(f"/me/bindings/{own['id']}/members", headers=auth(owner["access_token"]))
        assert [m["id"] for m in members.json()] == [ten["id"]]
        assert members.json()[0]["phone"] == "139****3333"  # another person's number, masked
        # The tenant cannot turn it around, and a stranger cannot use the owner's binding id.
        stranger = await login(c, fake, "o-stranger")
        for tok, path in (
            (tenant["access_token"], f"/me/bindings/{ten['id']}/members/{own['id']}"),
            (stranger["access_token"], f"/me/bindings/{own['id']}/members/{ten['id']}"),
        ):
            assert_error(await c.delete(path, headers=auth(tok)), 404, "binding_not_found")
        removed = await c.delete(f"/me/bindings/{own['id']}/members/{ten['id']}", headers=auth(owner["access_token"]))
        assert removed.status_code == 200 and removed.json()["status"] == "revoked"
        (event,) = await outbox(app, "identity.binding.revoked")
        assert event.payload["binding_id"] == ten["id"]
        owner_profile = (await c.get("/me", headers=auth(owner["access_token"]))).json()
        assert owner_profile["bindings"][0]["status"] == "verified"
