"""Who sees a ticket (services/repairs/access.py): a role on it, or a 404."""

from __future__ import annotations

from tests.common.identity_replica import factories as ie
from tests.repairs.factories import World, ticket_in
from tests.support import assert_error, auth, crew_token, token


async def test_revoked_binding_loses_the_household_view(world: World, app):
    t = await world.ticket()
    tenant = await ie.binding(app, world.cid, world.room_id, relation="tenant")
    tenant_h = auth(token(tenant["account_id"]))
    assert (await world.client.get(f"/repairs/{t['id']}", headers=tenant_h)).status_code == 200
    await ie.revoke(app, tenant)
    assert (await world.client.get(f"/repairs/{t['id']}", headers=tenant_h)).status_code == 404


async def test_crew_cannot_touch_a_ticket_assigned_to_someone_else(world: World):
    tid = await ticket_in(world, "assigned")
    assert_error(await world.act(world.crew2, tid, "start"), 404, "ticket_not_found")
    assert_error(await world.client.get(f"/repairs/{tid}", headers=world.crew2), 404)


async def test_crew_who_left_lose_the_tickets_still_assigned_to_them(world: World, app):
    tid = await ticket_in(world, "assigned")
    assert (await world.client.get(f"/repairs/{tid}", headers=world.crew)).status_code == 200
    # Their refreshed token no longer carries the community's crew claim (identity bumped the
    # roles version, so the old token is refused); the ticket still names them as assignee.
    left = auth(token(world.crew_id))
    assert_error(await world.client.get(f"/repairs/{tid}", headers=left), 404, "ticket_not_found")
    assert_error(await world.act(left, tid, "start"), 404, "ticket_not_found")
    moved = auth(crew_token("another-community", account_id=world.crew_id))
    assert_error(await world.client.get(f"/repairs/{tid}", headers=moved), 404, "ticket_not_found")
    for who in (left, moved):
        r = await world.client.get("/repairs", headers=who, params={"assignee": "me"})
        assert r.status_code == 200 and r.json()["items"] == []


async def test_a_crew_queue_leaves_out_communities_the_replica_says_they_left(world: World, app):
    tid = await ticket_in(world, "assigned")
    r = await world.client.get("/repairs", headers=world.crew, params={"assignee": "me"})
    assert [t["id"] for t in r.json()["items"]] == [tid]
    await ie.deliver(app, "identity.staff.removed", {"community_id": world.cid, "account_id": world.crew_id, "staff_id": "s"})
    r = await world.client.get("/repairs", headers=world.crew, params={"assignee": "me"})
    assert r.status_code == 200 and r.json()["items"] == []


async def test_other_household_members_see_the_contact_phone_masked(world: World, app):
    t = await world.ticket(contact_phone="13800138000")
    tid = t["id"]
    assert t["contact_phone"] == "13800138000"  # the reporter's own answer
    await world.drive(tid, "assigned")

    async def phone(who) -> tuple[str, str]:
        one = (await world.client.get(f"/repairs/{tid}", headers=who)).json()["contact_phone"]
        page = (await world.client.get("/repairs", headers=who, params={"assignee": "me"} if who is world.crew else {"community_id": world.cid})).json()
        listed = next(i["contact_phone"] for i in page["items"] if i["id"] == tid)
        return one, listed

    assert await phone(world.family) == ("138****8000", "138****8000")
    for who in (world.owner, world.manager, world.crew):
        assert await phone(who) == ("13800138000", "13800138000")
    r = await world.act(world.family, tid, "urge")
    assert r.status_code == 200 and r.json()["contact_phone"] == "138****8000"


async def test_a_member_sees_only_the_room_tickets_filed_after_they_were_bound(world: World, app):
    before = await world.ticket()
    await world.drive(before["id"], "assigned")
    old_photo = before["photos"][0]["id"]
    app.state.clock.advance(hours=1)
    tenant = await ie.binding(
        app, world.cid, world.room_id, relation="tenant", verified_at=app.state.clock.now().isoformat()
    )
    tenant_h = auth(token(tenant["account_id"]))
    app.state.clock.advance(minutes=1)
    after = await world.ticket()

    r = await world.client.get("/repairs", headers=tenant_h)
    assert [t["id"] for t in r.json()["items"]] == [after["id"]]
    r = await world.client.get("/repairs", headers=tenant_h, params={"community_id": world.cid})
    assert [t["id"] for t in r.json()["items"]] == [after["id"]]
    assert_error(await world.client.get(f"/repairs/{before['id']}", headers=tenant_h), 404, "ticket_not_found")
    assert_error(await world.act(tenant_h, before["id"], "urge"), 404, "ticket_not_found")
    assert_error(await world.client.get(f"/uploads/{old_photo}", headers=tenant_h), 404, "upload_not_found")
    seen = await world.client.get(f"/repairs/{after['id']}", headers=tenant_h)
    assert seen.status_code == 200 and [e["action"] for e in seen.json()["timeline"]] == ["submit"]
    photo = seen.json()["photos"][0]["id"]
    assert (await world.client.get(f"/uploads/{photo}", headers=tenant_h)).status_code == 200
    # Those bound earlier keep the whole history.
    r = await world.client.get("/repairs", headers=world.family)
    assert [t["id"] for t in r.json()["items"]] == [after["id"], before["id"]]
