"""`GET /me/home`: the Mini Program's home screen in one call, assembled by the gateway.

Each service answers its own part at `GET /internal/home?community_id=` (never routed from
outside), under the caller's own bearer token, so each applies its own authorization to the
caller: identity's part (the caller's rooms in the community) is also the check that the
caller belongs to the community, and its refusal is the answer. The four parts are asked for
in parallel, one request each, whatever the number of rooms, notices, tickets or votes.

A part whose service is down or failing is left out and named in `unavailable`, so the home
screen still draws (the Mini Program shows that section as 暂不可用); identity's part is
required, since without it nothing says the caller belongs there.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from gateway.upstream import Headers, UpstreamPool, UpstreamResponse
from services.common.errors import ServiceUnavailable

log = logging.getLogger("gateway")

PATH = "/me/home"
PART_PATH = b"/internal/home"
# identity first: its part decides whether the caller may see the community's home.
PARTS = ("identity", "notices", "repairs", "votes")


def is_home(method: str, path: str) -> bool:
    return method == "GET" and path == PATH


async def _ask(pool: UpstreamPool, target: bytes, headers: Headers) -> UpstreamResponse | None:
    try:
        return await pool.request("GET", target, headers, b"")
    except Exception as exc:  # unreachable or timed out: the part is left out
        log.warning("home part unavailable", extra={"error": type(exc).__name__})
        return None


async def assemble(
    pools: dict[str, UpstreamPool], headers: Headers, query: bytes
) -> UpstreamResponse:
    """The merged answer, or identity's own refusal (401, 404, 422) as it gave it."""
    target = PART_PATH + (b"?" + query if query else b"")
    answers = await asyncio.gather(*(_ask(pools[name], target, headers) for name in PARTS))
    own = answers[0]
    if own is None or own.status >= 500:
        raise ServiceUnavailable("账号服务暂时不可用，请稍后再试", details={"service": "identity"})
    if own.status != 200:
        return own
    merged: dict[str, Any] = {}
    unavailable: list[str] = []
    for name, answer in zip(PARTS, answers, strict=True):
        if answer is None or answer.status >= 500:
            unavailable.append(name)
            continue
        if answer.status != 200:
            # The caller passed identity's check; another service refusing them is its say.
            return answer
        merged.update(json.loads(answer.body))
    merged["unavailable"] = unavailable
    body = json.dumps(merged, ensure_ascii=False).encode()
    return UpstreamResponse(200, [(b"content-type", b"application/json")], body)
