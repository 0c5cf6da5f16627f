"""Bindings: auto-verified on a roster match, pending, approved, rejected; invitations;
GET /me, masking, account deletion, cross-community denials, the clean-up report."""

from __future__ import annotations

from sqlalchemy import func, select

from services.identity import snapshots
from services.identity.models import Account, Binding
from tests.identity.factories import (
    identity,
    login,
    new_community,
    outbox,
    room_id,
    roster,
    upload,
    verify_phone,
)
from tests.support import assert_error, auth, crew_token, manager_token

ROWS = [
    ["1", "", "101", "89.50", "delivered", "李明", "13812341234", ""],
    ["1", "", "102", "95.00", "delivered", "王芳", "13812345678", ""],
]


async def setup_community(c, name="阳光花园", rows=ROWS):
    cid = await new_community(c, name)
    r = await upload(c, cid, roster(rows), manager_token(cid))
    assert r.status_code == 200, r.text
    return cid


async def bind(c, tok, rid, relation="owner", name="李明", phone="13812341234"):
    return await c.post(
        "/me/bindings", json={"room_id": rid, "relation": relation, "name": name, "phone": phone}, headers=auth(tok)
    )


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
        assert twice.status_code == 409 and twice.json()["error"]["code"] == "binding_not_pending"


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
        assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_bound"
        unknown = await bind(c, tok, "00000000-0000-0000-0000-000000000000")
        assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "房间不存在"
        for body in (
            {"room_id": rid, "relation": "owner", "name": "李明", "phone": "123"},
            {"room_id": rid, "relation": "landlord", "name": "李明", "phone": "13812341234"},
            {"room_id": 5, "relation": "owner", "name": "李明", "phone": "13812341234"},
            {"room_id": rid, "relation": "owner", "name": " ", "phone": "13812341234"},
        ):
            r = await c.post("/me/bindings", json=body, headers=auth(tok))
            assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", body
        async with app.state.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(Binding)) == 1


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
        assert reused.status_code == 400 and reused.json()["error"]["code"] == "invitation_invalid"

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


async def test_a_manager_of_one_community_can_do_nothing_in_another(database_urls):
    async with identity(database_urls) as (app, c, fake):
        a = await setup_community(c, "A")
        b = await setup_community(c, "B")
        me = await login(c, fake, "o-5")
        pending = await bind(c, me["access_token"], await room_id(c, b, "1栋101", me["access_token"]), phone="13900000000")
        mgr_a = auth(manager_token(a))
        for method, path, body in [
            ("get", f"/communities/{b}", None),
            ("get", f"/communities/{b}/bindings?status=pending", None),
            ("post", f"/bindings/{pending.json()['id']}/approve", None),
            ("post", f"/bindings/{pending.json()['id']}/reject", {"reason": "x"}),
            ("get", f"/communities/{b}/staff", None),
            ("post", f"/communities/{b}/staff", {"username": "evil", "name": "坏人", "phone": "13600000009", "role": "manager"}),
            ("get", f"/communities/{b}/cleanup-report", None),
        ]:
            r = await c.request(method, path, json=body, headers=mgr_a)
            assert r.status_code == 404, (path, r.text)
        # Crews do not review either, even in their own community.
        r = await c.post(f"/bindings/{pending.json()['id']}/approve", headers=auth(crew_token(b)))
        assert r.status_code == 404
        async with app.state.sessionmaker() as s:
            assert (await s.get(Binding, pending.json()["id"])).status == "pending"


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


async def test_cleanup_report_lists_what_to_tidy(database_urls):
    async with identity(database_urls, pending_stale_days=0) as (app, c, fake):
        cid = await setup_community(c)
        mgr = auth(manager_token(cid))
        odd = await login(c, fake, "o-odd")
        r = await bind(c, odd["access_token"], await room_id(c, cid, "1栋101", odd["access_token"]), phone="13900000000")
        await c.post(f"/bindings/{r.json()['id']}/approve", headers=mgr)  # approved though not on the roster
        waiting = await login(c, fake, "o-waiting")
        p = await bind(c, waiting["access_token"], await room_id(c, cid, "1栋102", waiting["access_token"]), phone="13900000001")
        crew = await c.post(
            f"/communities/{cid}/staff",
            json={"username": "gone.crew", "name": "离职者", "phone": "13600000003", "role": "crew", "department": "cleaning"},
            headers=mgr,
        )
        await c.delete(f"/communities/{cid}/staff/{crew.json()['id']}", headers=mgr)
        report = await c.get(f"/communities/{cid}/cleanup-report", headers=mgr)
        assert report.status_code == 200
        body = report.json()
        assert [i["binding_id"] for i in body["unmatched_bindings"]] == [r.json()["id"]]
        assert [i["binding_id"] for i in body["stale_pending"]] == [p.json()["id"]]
        assert [a["account_id"] for a in body["accounts_without_verified_binding"]] == [waiting["account"]["id"]]
        assert [s["staff_id"] for s in body["staff_left"]] == [crew.json()["id"]]
        (removed,) = await outbox(app, "identity.staff.removed")
        assert removed.payload == {"community_id": cid, "account_id": crew.json()["account_id"], "staff_id": crew.json()["id"]}


async def test_snapshots_page_through_the_same_payloads_as_the_events(database_urls):
    async with identity(database_urls) as (app, c, fake):
        cid = await setup_community(c)
        me = await login(c, fake, "o-snap")
        await bind(c, me["access_token"], await room_id(c, cid, "1栋101", me["access_token"]))
        await c.post(
            f"/communities/{cid}/staff",
            json={"username": "m1", "password": "password-1", "name": "经理", "phone": "13600000004", "role": "manager"},
            headers=auth(manager_token(cid)),
        )
        async with app.state.sessionmaker() as s:
            page1, cursor = await snapshots.rooms(s, None, 1, community_id=cid)
            page2, end = await snapshots.rooms(s, cursor, 1, community_id=cid)
            assert end is None or (await snapshots.rooms(s, end, 1, community_id=cid))[0] == []
            rooms = page1 + page2
            bound, _ = await snapshots.verified_bindings(s, community_id=cid)
            staff, _ = await snapshots.staff(s)
            communities, _ = await snapshots.communities(s)
        by_id = {e.payload["room_id"]: e.payload for e in await outbox(app, "identity.room.upserted")}
        assert sorted(rooms, key=lambda p: p["room_id"]) == sorted(by_id.values(), key=lambda p: p["room_id"])
        assert bound == [e.payload for e in await outbox(app, "identity.binding.verified")]
        assert staff == [e.payload for e in await outbox(app, "identity.staff.upserted")]
        assert communities == [e.payload for e in await outbox(app, "identity.community.created")]
        for name, (_fn, event_type, key_field) in snapshots.STREAMS.items():
            for event in await outbox(app, event_type):
                assert event.ordering_key == event.payload[key_field], name


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
        assert r.status_code == 404 and r.json()["error"]["code"] == "staff_not_found"
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
