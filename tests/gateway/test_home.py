"""`GET /me/home` (gateway/home.py): one request per service's internal part, in parallel,
under the caller's own token; identity's refusal is the answer; a service that is down is
left out and named, while identity down is a 503."""

from __future__ import annotations

import json

from starlette.types import Receive, Scope, Send

from tests.gateway.support import answer_lifespan, gateway_client, gateway_settings, serve
from tests.support import assert_error, auth, token


def part_app(part: dict, status: int = 200):
    """A service's `/internal/home` that answers `part`, recording what it was asked."""
    seen: list[dict] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await answer_lifespan(receive, send)
        seen.append({"path": scope["path"], "query": scope["query_string"].decode(),
                     "authorization": dict(scope["headers"]).get(b"authorization", b"").decode()})
        data = json.dumps(part).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    app.seen = seen  # type: ignore[attr-defined]
    return app


async def test_home_merges_one_part_per_service_asked_with_the_callers_token() -> None:
    parts = {"identity": part_app({"community": {"id": "c1"}, "rooms": []}),
             "notices": part_app({"unread_inbox": 2, "notices": []}),
             "repairs": part_app({"open_tickets": [{"id": "t1"}]}),
             "votes": part_app({"votes_to_do": []})}
    async with (serve(parts["identity"]) as i, serve(parts["notices"]) as n, serve(parts["repairs"]) as r,
                serve(parts["votes"]) as v):
        settings = gateway_settings({"identity": i, "notices": n, "repairs": r, "votes": v})
        async with gateway_client(settings) as (_, client):
            me = auth(token("acct-1"))
            answer = await client.get("/api/v1/me/home?community_id=c1", headers=me)
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"community": {"id": "c1"}, "rooms": [], "unread_inbox": 2, "notices": [],
                                     "open_tickets": [{"id": "t1"}], "votes_to_do": [], "unavailable": []}
            assert_error(await client.get("/api/v1/me/home?community_id=c1"), 401)
    for app in parts.values():
        assert app.seen == [{"path": "/internal/home", "query": "community_id=c1",
                             "authorization": me["Authorization"]}]


async def test_identitys_refusal_is_the_answer_and_a_service_down_is_left_out() -> None:
    refusal = {"error": {"code": "community_not_found", "message": "小区不存在", "details": None}}
    identity = part_app(refusal, status=404)
    notices = part_app({"unread_inbox": 0})
    async with serve(identity) as i, serve(notices) as n:
        async with gateway_client(gateway_settings({"identity": i, "notices": n})) as (_, client):
            me = auth(token("acct-1"))
            assert_error(await client.get("/api/v1/me/home?community_id=x", headers=me), 404, "community_not_found")
    identity = part_app({"community": {"id": "c1"}, "rooms": []})
    async with serve(identity) as i:
        # notices, repairs and votes point at closed ports.
        async with gateway_client(gateway_settings({"identity": i})) as (_, client):
            answer = await client.get("/api/v1/me/home?community_id=c1", headers=auth(token("acct-1")))
            assert answer.status_code == 200
            assert answer.json()["unavailable"] == ["notices", "repairs", "votes"]
    async with gateway_client(gateway_settings()) as (_, client):
        assert_error(await client.get("/api/v1/me/home?community_id=c1", headers=auth(token("acct-1"))), 503)


async def test_the_qr_landing_needs_no_token_and_other_scene_calls_do() -> None:
    identity = part_app({"community": {"id": "c1"}})
    async with serve(identity) as i, gateway_client(gateway_settings({"identity": i})) as (_, client):
        assert (await client.get("/api/v1/scenes/abc123")).status_code == 200
        assert_error(await client.post("/api/v1/scenes/abc123"), 401)
        assert_error(await client.get("/api/v1/scenes"), 401)
