"""Staff rights that end within seconds: every token verifier (the gateway's and each
service's) refuses an access token whose bearer's roles changed after it was issued.

Identity bumps an account's `roles_version` whenever a staff role of it ends or shrinks, records
the change, and puts the version in each access token (`rv`). Every process keeps the recent
changes in memory, pulled from identity every `role_changes_poll_seconds` (identity reads its
own table). A token with `rv` below the account's current version is refused with 401
`roles_changed`; the client refreshes and gets a token with the current roles, so a person
removed from one community stays logged in to the others.

Only changes younger than the longest access-token life matter (an older token has expired
anyway), so identity serves those and the list stays small. Pulling, not events: the gateway
keeps no database, and one small GET a second per process costs less than a replica table.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from services.common.periodic import stop_task

log = logging.getLogger("role_changes")

PAGE_SIZE = 1000


@dataclass(frozen=True)
class RoleChange:
    """From `roles_version` on, tokens of `account_id` with an older version are stale."""

    seq: int
    account_id: str
    roles_version: int


# Changes after the given sequence number (0: from the start of identity's window), oldest
# first, at most PAGE_SIZE of them.
Fetch = Callable[[int], Awaitable[Sequence[RoleChange]]]


class RoleChanges:
    """The current roles version of every account whose roles changed recently."""

    def __init__(self, fetch: Fetch | None = None, interval_seconds: float = 1.0) -> None:
        self.fetch = fetch
        self._interval = interval_seconds
        self._current: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self.synced_at: float | None = None  # monotonic time of the last successful pull

    def is_stale(self, account_id: str, roles_version: int) -> bool:
        return roles_version < self._current.get(account_id, 0)

    def apply(self, changes: Sequence[RoleChange]) -> None:
        """Adds changes to what is known (never lowers an account's version)."""
        self._current = _merged(self._current, changes)

    async def sync_once(self) -> int:
        """Re-reads every change identity still serves (its window is the longest token life,
        so this stays small) and replaces what is known; returns how many there are.

        Not "changes after the last sequence number seen": on PostgreSQL sequence numbers are
        taken at insert and committed in any order, so a change committed late with a lower
        number would be skipped for good. Re-reading the window catches it on the next pull,
        and forgets changes too old to matter."""
        if self.fetch is None:
            return 0
        window: list[RoleChange] = []
        after = 0
        while True:
            page = await self.fetch(after)
            window.extend(page)
            if len(page) < PAGE_SIZE:
                break
            after = page[-1].seq
        self._current = _merged({}, window)
        self.synced_at = time.monotonic()
        return len(window)

    async def _run(self) -> None:
        failing = False
        while True:
            try:
                await self.sync_once()
                if failing:
                    log.info("role changes reachable again")
                failing = False
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                if not failing:  # once per outage, not once a second
                    log.warning("role changes unreachable", extra={"error": type(exc).__name__})
                failing = True
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        if self.fetch is not None and self._interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="role-changes")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None


def _merged(current: dict[str, int], changes: Sequence[RoleChange]) -> dict[str, int]:
    merged = dict(current)
    for change in changes:
        if change.roles_version > merged.get(change.account_id, 0):
            merged[change.account_id] = change.roles_version
    return merged


def parse_page(document: object) -> list[RoleChange]:
    """Identity's `GET /internal/role-changes` answer as changes (raises on a malformed one)."""
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise ValueError("malformed role changes page")
    return [
        RoleChange(int(item["seq"]), str(item["account_id"]), int(item["roles_version"]))
        for item in document["items"]
    ]


def http_fetch(http: httpx.AsyncClient, url: str) -> Fetch:
    """Pulls from identity's internal endpoint (never routed by the gateway)."""

    async def fetch(after: int) -> Sequence[RoleChange]:
        response = await http.get(url, params={"after": after, "limit": PAGE_SIZE}, timeout=2.0)
        response.raise_for_status()
        return parse_page(response.json())

    return fetch
