"""Bindings (services/identity/bindings.py): auto-verified on a roster match, pending,
approved, rejected; the review queue; GET /me and masking; unknown ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from services.identity.models import Binding
from tests.identity.factories import (
    bind,
    identity,
    login,
    new_community,
    outbox,
    room_id,
    setup_community,
    verify_phone,
)
from tests.support import assert_error, auth, manager_token


async def test_a_roster_match_is_verified_at_once(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        me = await login(c, fake, "o-1")
        rid = await room_id(c, cid, "1栋101", me["access_token"])
        await verify_phone(c, fake, me["access_token"], "13812341234")
        r = await bind(c, me["access_token"], rid, name="李 明", phone="138-1234-1234")
        assert r.status_code == 201
        assert r.json()["status"] == "verified" and r.json()["display_name"] == "1栋101李明"
        (event,) = await outbox(app, "identity.binding.verified")
        assert event.ordering_key == r.json()["id"]
        verified_at = datetime.fromisoformat(event.payload.pop("verified_at"))
        assert verified_at.tzinfo is not None and abs(verified_at - datetime.now(UTC)) < timedelta(minutes=1)
        assert event.payload == {
            "community_id": cid, "binding_id": r.json()["id"], "account_id": me["account"]["id"],
            "room_id": rid, "relation": "owner", "display_name": "1栋101李明", "parent_binding_id": None,
            "openid": "o-1",
        }
        profile = (await c.get("/me", headers=auth(me["access_token"]))).json()
        assert profile["display_name"] == "1栋101李明"
        assert profile["roles"]["residents"] == [{"community_id": cid, "room_id": rid, "relation": "owner"}]
        assert profile["bindings"][0]["phone"] == "13812341234"  # the person sees their own number


async def test_a_mismatch_waits_for_a_manager_who_approves(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        me = await login(c, fake, "o-2")
        rid = await room_id(c, cid, "1栋101", me["access_token"])
        r = await bind(c, me["access_token"], rid, name="李明", phone="13900000000")
        assert r.status_code == 201 and r.json()["status"] == "pending"
        assert await outbox(app, "identity.binding.verified") == []

        queue = await c.get(f"/communities/{cid}/bindings?status=pending", headers=auth(manager_token(cid)))
        assert [b["id"] for b in queue.json()["items"]] == [r.json()["id"]]
        assert queue.json()["items"][0]["phone"] == "13900000000"  # managers of the community see it

        ok = await c.post(f"/bindings/{r.json()['id']}/approve", headers=auth(manager_token(cid)))
        assert ok.status_code == 200 and ok.json()["status"] == "verified"
        assert len(await outbox(app, "identity.binding.verified")) == 1
        twice = await c.post(f"/bindings/{r.json()['id']}/approve", headers=auth(manager_token(cid)))
        assert_error(twice, 409, "binding_not_pending")


async def test_a_manager_rejects_with_a_reason_the_owner_sees(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        me = await login(c, fake, "o-3")
        rid = await room_id(c, cid, "1栋102", me["access_token"])
        r = await bind(c, me["access_token"], rid, relation="tenant", name="赵四", phone="13700000000")
        assert r.json()["status"] == "pending"
        no_reason = await c.post(f"/bindings/{r.json()['id']}/reject", json={}, headers=auth(manager_token(cid)))
        assert no_reason.status_code == 422
        rej = await c.post(
            f"/bindings/{r.json()['id']}/reject", json={"reason": "请提供租赁合同"}, headers=auth(manager_token(cid))
        )
        assert rej.status_code == 200 and rej.json()["status"] == "rejected"
        (event,) = await outbox(app, "identity.binding.rejected")
        assert event.payload["reason"] == "请提供租赁合同"
        profile = (await c.get("/me", headers=auth(me["access_token"]))).json()
        assert profile["bindings"][0]["status"] == "rejected" and profile["bindings"][0]["reason"] == "请提供租赁合同"
        assert profile["roles"]["residents"] == []


async def test_bad_binding_requests_are_4xx_and_change_nothing(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        me = await login(c, fake, "o-4")
        tok = me["access_token"]
        rid = await room_id(c, cid, "1栋101", tok)
        assert (await bind(c, tok, rid)).status_code == 201
        twice = await bind(c, tok, rid)
        assert_error(twice, 409, "already_bound")
        unknown = await bind(c, tok, "00000000-0000-0000-0000-000000000000")
        assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "房间不存在"
        for body in (
            {"room_id": rid, "relation": "owner", "name": "李明", "phone": "123"},
            {"room_id": rid, "relation": "landlord", "name": "李明", "phone": "13812341234"},
            {"room_id": 5, "relation": "owner", "name": "李明", "phone": "13812341234"},
            {"room_id": rid, "relation": "owner", "name": " ", "phone": "13812341234"},
        ):
            r = await c.post("/me/bindings", json=body, headers=auth(tok))
            assert_error(r, 422, "validation_error")
        async with app.state.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(Binding)) == 1


async def test_one_account_holds_rooms_in_several_communities(database_urls):
    async with identity(database_urls) as (_app, c, fake):
        a = await setup_community(c, "A")
        b = await setup_community(c, "B")
        me = await login(c, fake, "o-multi")
        await verify_phone(c, fake, me["access_token"], "13812341234")
        for cid in (a, b):
            r = await bind(c, me["access_token"], await room_id(c, cid, "1栋101", me["access_token"]))
            assert r.json()["status"] == "verified"
        profile = (await c.get("/me", headers=auth(me["access_token"]))).json()
        assert {r["community_id"] for r in profile["roles"]["residents"]} == {a, b}


async def test_the_review_queue_pages_with_a_cursor(database_urls):
    rows = [["1", "", f"{n}01", "80", "delivered", f"业主{n}", f"1380000000{n}", ""] for n in range(1, 6)]
    async with identity(database_urls) as (_app, c, fake):
        cid = await setup_community(c, rows=rows)
        me = await login(c, fake, "o-many")
        for n in range(1, 6):
            rid = await room_id(c, cid, f"1栋{n}01", me["access_token"])
            assert (await bind(c, me["access_token"], rid, relation="tenant", name="租客", phone="13700000000")).status_code == 201
        seen, cursor = [], None
        while True:
            url = f"/communities/{cid}/bindings?status=pending&limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = (await c.get(url, headers=auth(manager_token(cid)))).json()
            seen += [b["room_label"] for b in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [f"1栋{n}01" for n in range(1, 6)]


async def test_a_double_tap_makes_one_binding(database_urls):
    import asyncio

    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        me = await login(c, fake, "o-double")
        rid = await room_id(c, cid, "1栋101", me["access_token"])
        answers = await asyncio.gather(*(bind(c, me["access_token"], rid, phone="13900000000") for _ in range(3)))
        assert sorted(a.status_code for a in answers) == [201, 409, 409]
        async with app.state.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(Binding)) == 1


async def test_unknown_and_foreign_ids_are_404_and_change_nothing(database_urls):
    async with identity(database_urls) as (_app, c, fake):
        a = await setup_community(c, "A")
        b = await setup_community(c, "B")
        crew_b = await c.post(
            f"/communities/{b}/staff",
            json={"username": "crew.b", "name": "乙师傅", "phone": "13600000005", "role": "crew", "department": "security"},
            headers=auth(manager_token(b)),
        )
        # B's staff id through A's path, by A's manager: not found, and still on B's list.
        r = await c.delete(f"/communities/{a}/staff/{crew_b.json()['id']}", headers=auth(manager_token(a)))
        assert_error(r, 404, "staff_not_found")
        listing = await c.get(f"/communities/{b}/staff", headers=auth(manager_token(b)))
        assert len(listing.json()["items"]) == 1

        owner = await login(c, fake, "o-owner-b")
        other = await login(c, fake, "o-other")
        await verify_phone(c, fake, owner["access_token"], "13812341234")
        mine = await bind(c, owner["access_token"], await room_id(c, b, "1栋101", owner["access_token"]))
        for method, path in [
            ("delete", f"/me/bindings/{mine.json()['id']}"),
            ("post", "/bindings/no-such-binding/approve"),
            ("delete", "/me/bindings/no-such-binding"),
        ]:
            r = await c.request(method, path, headers=auth(other["access_token"]))
            assert r.status_code == 404, path
        r = await c.post(f"/me/bindings/{mine.json()['id']}/invitations", json={"relation": "family"}, headers=auth(other["access_token"]))
        assert r.status_code == 404
        profile = (await c.get("/me", headers=auth(owner["access_token"]))).json()
        assert profile["bindings"][0]["status"] == "verified"


async def test_a_malformed_cursor_is_400(database_urls):
    async with identity(database_urls) as (_app, c, _):
        cid = await new_community(c)
        for cursor in ("%%%", "WyJub3QtYS1kYXRlIiwieCJd"):  # the second: ["not-a-date","x"]
            r = await c.get(f"/communities/{cid}/bindings?cursor={cursor}", headers=auth(manager_token(cid)))
            assert_error(r, 400, "invalid_cursor")


# --- trust: no takeover by guessing, revocation by managers and owners ---------------------


async def test_typed_name_and_phone_never_verify_and_the_answer_does_not_tell_a_match(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        guesser = await login(c, fake, "o-guesser")
        tok = guesser["access_token"]
        rid = await room_id(c, cid, "1栋101", tok)
        right = await bind(c, tok, rid, name="李明", phone="13812341234")  # the roster's own data
        assert (await c.delete(f"/me/bindings/{right.json()['id']}", headers=auth(tok))).status_code == 200
        wrong = await bind(c, tok, rid, name="李明", phone="13812349999")
        assert right.status_code == wrong.status_code == 201
        assert right.json()["status"] == wrong.json()["status"] == "pending"
        assert set(right.json()) == set(wrong.json())
        assert await outbox(app, "identity.binding.verified") == []


async def test_a_pending_claim_is_verified_when_the_matching_phone_is_verified_later(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        me = await login(c, fake, "o-later")
        tok = me["access_token"]
        claim = await bind(c, tok, await room_id(c, cid, "1栋101", tok))
        assert claim.json()["status"] == "pending"
        await verify_phone(c, fake, tok, "13900000000")  # not the roster's phone: still pending
        assert await outbox(app, "identity.binding.verified") == []
        await verify_phone(c, fake, tok, "13812341234")
        (event,) = await outbox(app, "identity.binding.verified")
        assert event.payload["binding_id"] == claim.json()["id"]
        profile = (await c.get("/me", headers=auth(tok))).json()
        assert profile["bindings"][0]["status"] == "verified"


async def test_binding_requests_are_limited_per_account_per_day_and_per_room(database_urls):
    async with identity(database_urls, binding_requests_per_day=3, binding_pending_per_room=2) as (app, c, fake):
        cid = await setup_community(c)
        me = await login(c, fake, "o-busy")
        tok = me["access_token"]
        rid = await room_id(c, cid, "1栋101", tok)
        for _ in range(3):  # request, withdraw, request again: each counts
            r = await bind(c, tok, rid, phone="13900000001")
            assert r.status_code == 201
            await c.delete(f"/me/bindings/{r.json()['id']}", headers=auth(tok))
        assert_error(await bind(c, tok, rid), 429, "binding_requests_exceeded")

        other = await setup_community(c, "B")
        rid_b = await room_id(c, other, "1栋102", tok)
        for n in range(2):
            who = (await login(c, fake, f"o-room-{n}"))["access_token"]
            assert (await bind(c, who, rid_b, name="王芳", phone="13900000002")).status_code == 201
        late = (await login(c, fake, "o-room-late"))["access_token"]
        assert_error(await bind(c, late, rid_b, name="王芳"), 429, "room_pending_exceeded")
        profile = (await c.get("/me", headers=auth(late))).json()
        assert profile["bindings"] == []


async def test_parallel_binding_requests_cannot_outrun_either_limit(database_urls):
    import asyncio

    rows = [["1", "", f"1{n:02d}", "89.50", "delivered", "李明", "13812341234", ""] for n in range(1, 9)]
    async with identity(database_urls, binding_requests_per_day=3, binding_pending_per_room=2) as (app, c, fake):
        cid = await setup_community(c, rows=rows)
        tok = (await login(c, fake, "o-burst"))["access_token"]
        rooms = [await room_id(c, cid, f"1栋1{n:02d}", tok) for n in range(1, 9)]
        answers = await asyncio.gather(*(bind(c, tok, rid, phone="13900000001") for rid in rooms[:-1]))
        assert sorted(r.status_code for r in answers) == [201] * 3 + [429] * 4

        others = [(await login(c, fake, f"o-crowd-{n}"))["access_token"] for n in range(8)]
        answers = await asyncio.gather(*(bind(c, who, rooms[-1], phone="13900000002") for who in others))
        assert sorted(r.status_code for r in answers) == [201] * 2 + [429] * 6
        async with app.state.sessionmaker() as s:
            pending = await s.scalar(select(func.count()).select_from(Binding).where(Binding.room_id == rooms[-1]))
        assert pending == 2


async def test_a_manager_revokes_a_verified_binding_of_their_community_only(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        other = await setup_community(c, "B")
        me = await login(c, fake, "o-revoked")
        tok = me["access_token"]
        await verify_phone(c, fake, tok, "13812341234")
        bound = (await bind(c, tok, await room_id(c, cid, "1栋101", tok))).json()
        body = {"reason": "房屋已出售"}
        assert_error(
            await c.post(f"/bindings/{bound['id']}/revoke", json=body, headers=auth(manager_token(other))),
            404, "binding_not_found",
        )
        assert_error(
            await c.post(f"/bindings/{bound['id']}/revoke", json={}, headers=auth(manager_token(cid))), 422
        )
        r = await c.post(f"/bindings/{bound['id']}/revoke", json=body, headers=auth(manager_token(cid)))
        assert r.status_code == 200 and r.json()["status"] == "revoked" and r.json()["reason"] == "房屋已出售"
        (event,) = await outbox(app, "identity.binding.revoked")
        assert event.payload["binding_id"] == bound["id"]
        again = await c.post(f"/bindings/{bound['id']}/revoke", json=body, headers=auth(manager_token(cid)))
        assert_error(again, 409, "binding_inactive")
