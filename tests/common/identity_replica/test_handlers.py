"""The identity replica's handlers as a consuming service runs them: upserts, revocations,
deleted accounts."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from services.common.identity_replica import DELETED_ACCOUNT_NAME, ReplicaStaff, queries
from tests.common.identity_replica import factories as ie
from tests.support import running_app


@pytest.mark.parametrize("service", ["repairs", "votes", "notices"])
async def test_room_upsert_is_idempotent_and_keeps_exact_area(database_urls, service):
    cid = str(uuid.uuid4())
    async with running_app(service, database_urls[service]) as app:
        r = await ie.room(app, cid, area="100.01")
        await ie.deliver(app, "identity.room.upserted", {**r, "area": "100.02", "state": "sold"})
        await ie.deliver(app, "identity.room.upserted", {**r, "area": "100.02", "state": "sold"})
        async with app.state.sessionmaker() as s:
            rooms = await queries.rooms_in_scope(s, cid)
            assert len(rooms) == 1
            assert rooms[0].area == Decimal("100.02") and rooms[0].state == "sold"


async def test_verified_then_revoked_binding_stops_counting(database_urls):
    cid = str(uuid.uuid4())
    async with running_app("repairs", database_urls["repairs"]) as app:
        r = await ie.room(app, cid)
        owner = await ie.binding(app, cid, r["room_id"])
        tenant = await ie.binding(app, cid, r["room_id"], relation="tenant")
        async with app.state.sessionmaker() as s:
            assert await queries.is_verified_on(s, owner["account_id"], r["room_id"])
            assert not await queries.is_verified_on(s, tenant["account_id"], r["room_id"], ("owner",))
            assert await queries.household_account_ids(s, [r["room_id"]]) == {
                owner["account_id"],
                tenant["account_id"],
            }
        await ie.revoke(app, owner)
        async with app.state.sessionmaker() as s:
            assert not await queries.is_verified_on(s, owner["account_id"], r["room_id"])
            assert await queries.verified_room_ids(s, tenant["account_id"], cid) == {r["room_id"]}


@pytest.mark.parametrize("service", ["repairs", "votes", "notices"])
async def test_a_deleted_account_keeps_no_name_in_the_replica(database_urls, service):
    cid = str(uuid.uuid4())
    async with running_app(service, database_urls[service]) as app:
        r = await ie.room(app, cid)
        owner = await ie.binding(app, cid, r["room_id"], display_name="1栋101李明")
        crew = await ie.staff(app, cid, name="王师傅")
        other = await ie.binding(app, cid, r["room_id"], relation="family", display_name="1栋101李华")
        for account_id in (owner["account_id"], crew["account_id"]):
            await ie.account_deleted(app, cid, account_id)
        async with app.state.sessionmaker() as s:
            assert await queries.display_names(s, cid, [owner["account_id"], other["account_id"]]) == {
                owner["account_id"]: DELETED_ACCOUNT_NAME,
                other["account_id"]: "1栋101李华",
            }
            assert not await queries.is_verified_on(s, owner["account_id"], r["room_id"])
            row = await s.get(ReplicaStaff, (cid, crew["account_id"]))
            assert (row.name, row.active) == (DELETED_ACCOUNT_NAME, False)


async def test_a_binding_verified_after_its_account_was_deleted_loses_its_name_when_revoked(database_urls):
    cid = str(uuid.uuid4())
    async with running_app("votes", database_urls["votes"]) as app:
        r = await ie.room(app, cid)
        account_id = str(uuid.uuid4())
        await ie.account_deleted(app, cid, account_id)
        # Identity sent these before the deletion; ordered by binding, they may arrive after it.
        bound = await ie.binding(app, cid, r["room_id"], account_id, display_name="1栋101李明")
        await ie.revoke(app, bound, reason="account_deleted")
        unbound = await ie.binding(app, cid, r["room_id"], display_name="1栋101王芳")
        await ie.revoke(app, unbound)
        async with app.state.sessionmaker() as s:
            assert await queries.display_names(s, cid, [account_id, unbound["account_id"]]) == {
                account_id: DELETED_ACCOUNT_NAME,
                # An ordinary unbinding keeps the name: the records still say who it was.
                unbound["account_id"]: "1栋101王芳",
            }
