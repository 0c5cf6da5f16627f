"""Push subscriptions: consents granted, unknown templates refused, a deleted account
forgotten (services/notices/subscriptions.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from services.common.identity_replica import DELETED_ACCOUNT_NAME, ReplicaBinding
from services.notices.models import (
    InboxEntry,
    NoticeRead,
    PushConsent,
    PushMessage,
    PushRecipient,
)
from tests.common.identity_replica import factories as ie
from tests.notices.factories import (
    LATE,
    TEMPLATE,
    Community,
    notices_app,
    published_notice,
    set_clock,
    tick,
)
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


async def test_a_deleted_account_is_forgotten_and_what_stays_names_no_one(setup):
    s = setup
    # A member of the same household, who stays.
    _, wang = await s.c.member(s.c.rooms["1-101"], "family")
    await s.consent()
    await s.consent()
    sent = await published_notice(s.client, s.c, title="停水通知")
    await tick(s.app)
    assert len(await s.messages()) == 1
    set_clock(s.app, LATE)  # quiet hours: the next push waits in the queue
    await published_notice(s.client, s.c, title="周末义诊活动", category="activity")
    await tick(s.app)
    assert (await s.client.get(f"/notices/{sent['id']}", headers=s.owner)).status_code == 200
    assert [p.status for p in await s.pushes()] == ["sent", "pending"]

    await ie.account_deleted(s.app, s.c.id, s.owner_id)

    async with s.app.state.sessionmaker() as db:
        for model in (PushRecipient, PushConsent, InboxEntry):
            assert await count(db, model, model.account_id == s.owner_id) == 0, model
        # The push that went stays as a record, without the openid or the text it carried.
        pushes = (await db.scalars(select(PushMessage))).all()
        assert [(p.status, p.account_id, p.openid, p.data) for p in pushes] == [
            ("sent", s.owner_id, "", {})
        ]
        # The read stays (it names no one), and the display name is replaced.
        assert await count(db, NoticeRead, NoticeRead.account_id == s.owner_id) == 1
        names = (
            await db.scalars(
                select(ReplicaBinding.display_name).where(ReplicaBinding.account_id == s.owner_id)
            )
        ).all()
        assert names == [DELETED_ACCOUNT_NAME]
    # The household still counts as having read the notice.
    r = await s.client.get(f"/notices/{sent['id']}/receipts", headers=s.c.manager)
    assert (r.json()["targeted"], r.json()["read"]) == (1, 1)
    assert (await s.client.get("/inbox", headers=wang)).json()["unread_count"] == 3


async def test_a_binding_verified_late_after_the_deletion_is_forgotten_by_its_revocation(
    database_urls,
):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        room = await c.room()
        account_id, me = await c.member(room, openid="openid-gone")
        await ie.account_deleted(app, c.id, account_id)
        # A second binding's events were held up: identity sent them before the deletion,
        # but they arrive after it (ordered by binding, not by account).
        late = {
            "community_id": c.id,
            "binding_id": str(uuid.uuid4()),
            "account_id": account_id,
            "room_id": room["room_id"],
            "relation": "family",
        }
        verified = late | {
            "display_name": "1栋101李明",
            "parent_binding_id": None,
            "openid": "openid-gone",
        }
        await ie.post(app, "identity.binding.verified", verified, late["binding_id"])
        await ie.post(
            app,
            "identity.binding.revoked",
            late | {"reason": "account_deleted"},
            late["binding_id"],
        )
        async with app.state.sessionmaker() as db:
            assert await count(db, PushRecipient, PushRecipient.account_id == account_id) == 0
            assert await count(db, InboxEntry, InboxEntry.account_id == account_id) == 0
            names = await db.scalars(
                select(ReplicaBinding.display_name).where(ReplicaBinding.account_id == account_id)
            )
            assert set(names.all()) == {DELETED_ACCOUNT_NAME}
        assert (await client.get("/inbox", headers=me)).json()["items"] == []


async def count(db, model, *where) -> int:
    return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)
