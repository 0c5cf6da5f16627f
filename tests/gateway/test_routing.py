"""The gateway's routing table: longest match, the exceptions, and what is never routed."""

from __future__ import annotations

import pytest

from gateway.routing import is_public_path, needs_token, resolve


@pytest.mark.parametrize(
    ("path", "service", "upstream"),
    [
        ("/auth/wechat-login", "identity", "/auth/wechat-login"),
        ("/me", "identity", "/me"),
        ("/me/bindings/b1/invitations", "identity", "/me/bindings/b1/invitations"),
        # /me belongs to identity, except the subscriptions, which notices owns.
        ("/me/subscriptions", "notices", "/me/subscriptions"),
        ("/communities", "identity", "/communities"),
        ("/communities/c1/buildings", "identity", "/communities/c1/buildings"),
        ("/communities/c1/roster", "identity", "/communities/c1/roster"),
        # The longer pattern with a community id in it wins over /communities.
        ("/communities/c1/repairs/stats", "repairs", "/communities/c1/repairs/stats"),
        ("/communities/c1/repairs", "repairs", "/communities/c1/repairs"),
        ("/bindings/b1/approve", "identity", "/bindings/b1/approve"),
        ("/repairs", "repairs", "/repairs"),
        ("/repairs/t1/transitions", "repairs", "/repairs/t1/transitions"),
        ("/uploads", "repairs", "/uploads"),
        ("/votes/v1/ballots", "votes", "/votes/v1/ballots"),
        ("/notices/n1/receipts", "notices", "/notices/n1/receipts"),
        ("/inbox/i1/read", "notices", "/inbox/i1/read"),
        ("/care-list/r1/reveal", "notices", "/care-list/r1/reveal"),
        ("/activities/a1/signups", "notices", "/activities/a1/signups"),
        # Admin event tools reach the named service under its own /admin/events.
        ("/admin/events/votes/dead", "votes", "/admin/events/dead"),
        ("/admin/events/identity/e1/redeliver", "identity", "/admin/events/e1/redeliver"),
        ("/admin/events/notices", "notices", "/admin/events"),
    ],
)
def test_each_public_path_goes_to_its_owner(path: str, service: str, upstream: str) -> None:
    route = resolve(path)
    assert route is not None
    assert (route.service, route.upstream_path) == (service, upstream)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/events",
        "/internal/rooms",
        "/healthz",
        "/readyz",
        "/metrics",
        "/.well-known/jwks.json",
        "/docs",
        "/openapi.json",
        "/nothing-here",
        "/communitiesx",
        "/mee",
        # Internal surfaces are refused wherever they hide in a path.
        "/communities/c1/internal",
        "/me/../events",
        "/me/./x",
        "/communities//repairs",
        "/me/",
        "/_standin/messages",
        # Admin tools only for a known service, never for the gateway's own names.
        "/admin/events",
        "/admin/events/gateway/dead",
        "/admin/events/wechat",
        "/admin",
        "relative",
    ],
)
def test_anything_else_is_not_routed(path: str) -> None:
    assert resolve(path) is None


def test_only_the_login_calls_go_without_a_token() -> None:
    assert not needs_token("POST", "/auth/wechat-login")
    assert not needs_token("POST", "/auth/refresh")
    assert not needs_token("POST", "/auth/staff-login")
    assert needs_token("GET", "/auth/wechat-login")
    assert needs_token("GET", "/communities/c1/buildings")
    assert needs_token("GET", "/me")
    assert needs_token("POST", "/me/subscriptions")


def test_public_contract_keeps_only_routed_paths_of_their_owner() -> None:
    assert is_public_path("/communities/{cid}")
    assert is_public_path("/communities/{cid}/repairs/stats", "repairs")
    assert not is_public_path("/communities/{cid}/repairs/stats", "identity")
    assert not is_public_path("/me/subscriptions", "identity")
    assert not is_public_path("/events")
    assert not is_public_path("/.well-known/jwks.json")
