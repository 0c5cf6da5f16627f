"""The clean-up report (services/identity/cleanup.py)."""

from __future__ import annotations

from tests.identity.factories import bind, identity, login, outbox, room_id, setup_community
from tests.support import auth, manager_token


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
