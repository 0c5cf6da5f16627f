"""The replica-miss path: a caller the replica does not know as verified may have been verified
a moment ago, before identity's event reached this service (on vote day thousands bind at once).

Wherever "no verified binding here" would decide the answer (a ballot's or a vote's 404, an
empty notice feed, `upload_not_allowed`), the service asks identity once — `GET /me` with the
caller's own token, so no new trust is needed — and when identity knows a verified binding
the replica has not heard of yet, answers 409 `binding_syncing` (请稍后重试, the reason named)
instead of an answer that would be wrong. When identity is unreachable or says nothing new,
the caller's original answer stands. Nothing is written: the event still brings the row.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import bearer_token
from services.common.errors import Conflict
from services.common.identity_replica.queries import active_bindings_of
from services.common.settings import service_url

log = logging.getLogger("identity_replica.catch_up")

RETRY_AFTER_SECONDS = 1


class BindingSyncing(Conflict):
    code = "binding_syncing"
    message = "您的房屋认证刚刚通过，正在同步到本服务，请稍后重试"

    def __init__(self, binding_ids: list[str]) -> None:
        super().__init__(
            details={
                "reason": "binding_not_replicated",
                "binding_ids": binding_ids,
                "retry_after_seconds": RETRY_AFTER_SECONDS,
            },
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


def identity_me_url() -> str:
    return service_url("identity") + "/me"


async def identity_verified_bindings(request: Request) -> list[dict[str, Any]] | None:
    """The caller's verified bindings as identity knows them now; None when identity could
    not say (unreachable, or the token is not one it accepts)."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return None
    http: httpx.AsyncClient = request.app.state.http
    try:
        response = await http.get(
            identity_me_url(), headers={"Authorization": f"Bearer {token}"}, timeout=2.0
        )
    except httpx.HTTPError as exc:
        log.warning("identity not reachable on the replica-miss path", extra={"error": type(exc).__name__})
        return None
    if response.status_code != 200:
        return None
    try:
        bindings = response.json()["bindings"]
        return [b for b in bindings if isinstance(b, dict) and b.get("status") == "verified"]
    except (ValueError, KeyError, TypeError):
        return None


async def raise_if_binding_syncing(
    request: Request, session: AsyncSession, account_id: str, community_id: str | None = None
) -> None:
    """Called where the replica found no (suitable) verified binding of the caller: 409
    `binding_syncing` when identity has verified one (in `community_id`, when given) that the
    replica does not hold yet; otherwise returns and the caller answers as before."""
    verified = await identity_verified_bindings(request)
    if not verified:
        return
    if community_id is not None:
        verified = [b for b in verified if b.get("community_id") == community_id]
    known = {b.binding_id for b in await active_bindings_of(session, account_id, community_id)}
    missing = sorted(str(b.get("id")) for b in verified if b.get("id") not in known)
    if missing:
        raise BindingSyncing(missing)
