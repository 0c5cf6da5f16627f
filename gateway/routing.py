"""Which service owns a public path: the longest matching path pattern wins (api.md,
"Who owns which path"). Anything not in the table is 404 at the gateway, so internal paths
(`/events`, `/internal/...`, health, `/.well-known`) are never reachable from outside."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.settings import SERVICE_NAMES

PREFIX = "/api/v1"
# The manager's console (console/), a separate process the gateway forwards browsers to.
CONSOLE_PREFIX = "/console"

# `*` matches any one segment. Each pattern matches the path itself and everything below it.
ROUTES: tuple[tuple[str, str], ...] = (
    ("/auth", "identity"),
    ("/me", "identity"),
    ("/me/subscriptions", "notices"),
    ("/communities", "identity"),
    ("/communities/*/repairs", "repairs"),
    ("/bindings", "identity"),
    ("/repairs", "repairs"),
    ("/uploads", "repairs"),
    ("/votes", "votes"),
    ("/notices", "notices"),
    ("/inbox", "notices"),
    ("/care-list", "notices"),
    ("/activities", "notices"),
    ("/scenes", "identity"),
    ("/bills", "billing"),
    ("/me/bills", "billing"),
    ("/payments", "billing"),
    ("/communities/*/fees", "billing"),
)
# `/admin/events/{service}/...` goes to that service's `/admin/events/...`.
ADMIN_EVENTS = ("admin", "events")

# Segments never forwarded, wherever they appear: internal surfaces and path tricks.
FORBIDDEN_SEGMENTS = frozenset({"", ".", "..", "internal", ".well-known", "_standin"})

# The only calls that need no bearer token (everything else is checked before forwarding).
UNAUTHENTICATED = frozenset(
    {
        ("POST", "/auth/wechat-login"),
        ("POST", "/auth/refresh"),
        ("POST", "/auth/staff-login"),
        # WeChat Pay calls it from outside; its RSA signature is the check (billing/notify.py).
        ("POST", "/payments/wechat/notify"),
    }
)


@dataclass(frozen=True, slots=True)
class Route:
    service: str
    # The path as the service knows it (the public path without /api/v1).
    upstream_path: str


_TABLE: dict[tuple[str, ...], str] = {
    tuple(pattern.strip("/").split("/")): service for pattern, service in ROUTES
}
_MAX_DEPTH = max(len(k) for k in _TABLE)


def _lookup(segments: list[str]) -> str | None:
    """Longest pattern first; at one length, a literal segment beats `*`."""
    for depth in range(min(len(segments), _MAX_DEPTH), 0, -1):
        head = segments[:depth]
        best: tuple[int, str] | None = None
        for pattern, service in _TABLE.items():
            if len(pattern) != depth:
                continue
            if all(p == "*" or p == s for p, s in zip(pattern, head, strict=True)):
                literals = sum(p != "*" for p in pattern)
                if best is None or literals > best[0]:
                    best = (literals, service)
        if best is not None:
            return best[1]
    return None


def resolve(path: str) -> Route | None:
    """The route of a path below /api/v1 (e.g. `/me/bindings`), or None (404)."""
    if not path.startswith("/"):
        return None
    segments = path[1:].split("/")
    if any(s in FORBIDDEN_SEGMENTS for s in segments):
        return None
    if tuple(segments[:2]) == ADMIN_EVENTS:
        if len(segments) < 3 or segments[2] not in SERVICE_NAMES:
            return None
        rest = segments[3:]
        return Route(segments[2], "/" + "/".join([*ADMIN_EVENTS, *rest]))
    service = _lookup(segments)
    if service is None:
        return None
    return Route(service, path)


# Reads open to anyone, by path prefix: a scanned QR code's landing (`/scenes/{scene}`) is
# resolved before the Mini Program logs in.
UNAUTHENTICATED_READS = ("/scenes/",)


def needs_token(method: str, path: str) -> bool:
    if method == "GET" and path.startswith(UNAUTHENTICATED_READS):
        return False
    return (method, path) not in UNAUTHENTICATED and method != "OPTIONS"


def is_public_path(service_path: str, service: str | None = None) -> bool:
    """Whether a service's own route is reachable through the gateway at /api/v1 + path
    (and, when `service` is given, lands on that service). scripts/openapi.py keeps only
    these in the public contract."""
    route = resolve(service_path)
    return route is not None and (service is None or route.service == service)


def is_console_path(path: str) -> bool:
    """`/console` and below, without dot segments (the console resolves its own paths)."""
    if path != CONSOLE_PREFIX and not path.startswith(CONSOLE_PREFIX + "/"):
        return False
    return not any(s in (".", "..") for s in path.split("/"))
