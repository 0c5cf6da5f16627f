"""The replica-miss path (identity_replica/catch_up.py): a request that arrives after identity
verified the caller's binding but before the binding's event reached this service is answered
409 `binding_syncing` (请稍后重试, the reason named) — never `vote_not_found`, an empty feed or
`upload_not_allowed` — and once the event arrives the same request succeeds. Identity is
stood in for by a mock transport answering `GET /me` for the caller's token."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.common.identity_replica import factories as ie
from tests.notices.factories import Community, notices_app, published_notice
from tests.repairs.factories import image_bytes, repairs_app
from tests.support import assert_error, auth, client_for, token
from tests.votes.factories import T0, create_vote, open_vote, votes_app


@contextlib.contextmanager
def identity_knows(app: Any, bindings_by_account: dict[str, list[dict[str, Any]]]) -> Iterator[list[str]]:
    """Identity's `GET /me` as a mock: the verified bindings it knows per account. Yields the
    list of accounts it was asked about."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/me"
        from services.common.auth import bearer_token

        tok = bearer_token(request.headers.get("authorization"))
        import jwt

        account = jwt.decode(tok or "", options={"verify_signature": False})["sub"]
        asked.append(account)
        bindings = bindings_by_account.get(account, [])
        return httpx.Response(200, json={"account": {"id": account}, "bindings": bindings})

    original = app.state.http
    app.state.http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    try:
        yield asked
    finally:
        app.state.http = original


def verified(binding: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": binding["binding_id"], "community_id": binding["community_id"],
             "room_id": binding["room_id"], "relation": binding["relation"], "status": "verified"}]


def fresh_binding(cid: str, room_id: str) -> dict[str, Any]:
    """A binding identity has verified; the replica has not heard of it (yet)."""
    return {"binding_id": str(uuid.uuid4()), "community_id": cid, "account_id": str(uuid.uuid4()),
            "room_id": room_id, "relation": "owner", "display_name": "1栋101业主",
            "parent_binding_id": None, "verified_at": "2026-01-01T00:00:00+00:00"}


async def test_a_ballot_before_the_replica_heard_of_the_binding_is_409_binding_syncing(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        room = await ie.room(app, cid)
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)
        fresh = fresh_binding(cid, room["room_id"])
        owner = auth(token(fresh["account_id"]))
        ballot = {"room_id": room["room_id"], "answers": []}
        with identity_knows(app, {fresh["account_id"]: verified(fresh)}) as asked:
            err = assert_error(await c.get(f"/votes/{vote['id']}", headers=owner), 409, "binding_syncing")
            assert err["details"]["reason"] == "binding_not_replicated"
            assert err["details"]["binding_ids"] == [fresh["binding_id"]]
            assert "稍后重试" in err["message"]
            r = await c.post(f"/votes/{vote['id']}/ballots", json=ballot, headers=owner)
            assert_error(r, 409, "binding_syncing")
            assert r.headers["retry-after"] == "1"
            assert asked == [fresh["account_id"]] * 2  # once per request
            # A stranger identity knows nothing about still gets the plain 404.
            stranger = auth(token(str(uuid.uuid4())))
            assert_error(await c.get(f"/votes/{vote['id']}", headers=stranger), 404, "vote_not_found")
        # The event arrives: the same requests now succeed.
        await ie.binding(app, cid, room["room_id"], fresh["account_id"])
        assert (await c.get(f"/votes/{vote['id']}", headers=owner)).status_code == 200


async def test_identity_unreachable_leaves_the_original_answer(database_urls):
    cid = str(uuid.uuid4())
    async with votes_app(database_urls) as app, client_for(app) as c:
        app.state.clock.set(T0)
        await ie.room(app, cid)
        vote = await create_vote(c, cid)
        await open_vote(c, cid, vote)

        def down(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("down", request=request)

        original = app.state.http
        app.state.http = httpx.AsyncClient(transport=httpx.MockTransport(down))
        try:
            r = await c.get(f"/votes/{vote['id']}", headers=auth(token(str(uuid.uuid4()))))
        finally:
            app.state.http = original
        assert_error(r, 404, "vote_not_found")


async def test_a_feed_before_the_replica_heard_of_the_binding_is_409_not_empty(database_urls):
    async with notices_app(database_urls["notices"]) as app, client_for(app) as client:
        c = Community(app)
        room = await c.room()
        await c.member(room)
        await published_notice(client, c)
        fresh = fresh_binding(c.id, room["room_id"])
        owner = auth(token(fresh["account_id"]))
        with identity_knows(app, {fresh["account_id"]: verified(fresh)}):
            r = await client.get(f"/notices?community_id={c.id}", headers=owner)
            assert_error(r, 409, "binding_syncing")
            # Bound elsewhere only: this community's feed is empty, as before.
            other = fresh_binding(str(uuid.uuid4()), room["room_id"])
            with identity_knows(app, {other["account_id"]: verified(other)}):
                r = await client.get(f"/notices?community_id={c.id}", headers=auth(token(other["account_id"])))
                assert r.status_code == 200 and r.json()["items"] == []
        await ie.binding(app, c.id, room["room_id"], fresh["account_id"])
        feed = (await client.get(f"/notices?community_id={c.id}", headers=owner)).json()
        assert len(feed["items"]) == 1


async def test_an_upload_right_after_binding_is_409_not_upload_not_allowed(database_urls, tmp_path: Path):
    async with repairs_app(database_urls["repairs"], tmp_path / "uploads") as app, client_for(app) as c:
        cid = str(uuid.uuid4())
        room = await ie.room(app, cid)
        fresh = fresh_binding(cid, room["room_id"])
        owner = auth(token(fresh["account_id"]))
        files = {"file": ("p.png", image_bytes(), "image/png")}
        with identity_knows(app, {fresh["account_id"]: verified(fresh)}):
            assert_error(await c.post("/uploads", files=files, headers=owner), 409, "binding_syncing")
            nobody = auth(token(str(uuid.uuid4())))
            assert_error(await c.post("/uploads", files=files, headers=nobody), 403, "upload_not_allowed")
        await ie.binding(app, cid, room["room_id"], fresh["account_id"])
        assert (await c.post("/uploads", files=files, headers=owner)).status_code == 201
