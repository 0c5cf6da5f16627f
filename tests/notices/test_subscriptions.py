"""Push subscriptions: consents granted, unknown templates refused, a deleted account
forgotten (services/notices/subscriptions.py)."""

from __future__ import annotations

from tests.common.identity_replica import factories as ie
from tests.notices.factories import TEMPLATE, Community, notices_app
from tests.support import assert_error, client_for


async def test_unknown_template_consent_is_refused_and_changes_nothing(setup):
    s = setup
    r = await s.client.post(
        "/me/subscriptions", json={"template_ids": [TEMPLATE, "tpl-nope"]}, headers=s.owner
    )
    assert "模板" in assert_error(r, 422, "unknown_template")["message"]
    assert (await s.client.get("/me/subscriptions", headers=s.owner)).json()["consents"][
        TEMPLATE
    ] == 0


async def test_a_deleted_account_is_forgotten(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        account_id, me = await c.member(await c.room(), openid="openid-gone")
        await client.post("/me/subscriptions", json={"template_ids": ["tpl-notice"]}, headers=me)
        await ie.deliver(
            app, "identity.account.deleted", {"community_id": c.id, "account_id": account_id}
        )
        assert (await client.get("/inbox", headers=me)).json() == {
            "items": [],
            "next_cursor": None,
            "unread_count": 0,
        }
        assert (await client.get("/me/subscriptions", headers=me)).json()["consents"][
            "tpl-notice"
        ] == 0
