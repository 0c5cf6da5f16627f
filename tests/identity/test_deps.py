"""Load-and-authorize dependencies (services/identity/deps.py): a manager of one community can
do nothing in another, and crews do not review."""

from __future__ import annotations

from services.identity.models import Binding
from tests.identity.factories import bind, identity, login, room_id, setup_community
from tests.support import assert_error, auth, crew_token, manager_token


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
            # Foreign and unknown look the same: the community, or the binding, is not found.
            expected = "binding_not_found" if path.startswith("/bindings/") else "community_not_found"
            assert_error(r, 404, expected)
        # Crews do not review either, even in their own community.
        r = await c.post(f"/bindings/{pending.json()['id']}/approve", headers=auth(crew_token(b)))
        assert r.status_code == 404
        async with app.state.sessionmaker() as s:
            assert (await s.get(Binding, pending.json()["id"])).status == "pending"
