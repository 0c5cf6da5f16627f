"""Recent role changes in every verifier: a token older than its bearer's roles is refused,
also when the gateway had already verified and cached it."""

from __future__ import annotations

import json

import pytest

from services.common.auth import TokenVerifier
from services.common.errors import Unauthorized
from services.common.role_changes import PAGE_SIZE, RoleChange, RoleChanges, parse_page
from tests.support import JWKS_JSON, token


def test_only_versions_below_the_latest_change_are_stale():
    changes = RoleChanges()
    changes.apply([RoleChange(1, "a", 1), RoleChange(2, "a", 3), RoleChange(3, "b", 1)])
    changes.apply([RoleChange(2, "a", 2)])  # a late, older change never lowers the bar
    assert [changes.is_stale("a", v) for v in (0, 2, 3, 4)] == [True, True, False, False]
    assert changes.is_stale("b", 0) and not changes.is_stale("never-changed", 0)


async def test_each_sync_reads_the_whole_window_page_after_page():
    asked: list[int] = []
    rows = [RoleChange(i, f"acc-{i}", 1) for i in range(1, PAGE_SIZE + 6)]

    async def fetch(after: int):
        asked.append(after)
        return [r for r in rows if r.seq > after][:PAGE_SIZE]

    changes = RoleChanges(fetch)
    assert await changes.sync_once() == PAGE_SIZE + 5
    assert asked == [0, PAGE_SIZE] and changes.is_stale(f"acc-{PAGE_SIZE + 5}", 0)
    del rows[:10]  # older than identity's window now: forgotten
    assert await changes.sync_once() == PAGE_SIZE - 5 and asked[2:] == [0]
    assert not changes.is_stale("acc-1", 0) and changes.is_stale("acc-11", 0)


async def test_a_change_committed_late_with_a_lower_number_is_still_seen():
    # PostgreSQL hands out sequence numbers at insert: removal A took 5, removal B took 6,
    # B committed first. A pull in between sees only 6; the next must still see 5.
    committed = [RoleChange(6, "acc-b", 1)]

    async def fetch(after: int):
        return [r for r in sorted(committed, key=lambda r: r.seq) if r.seq > after]

    changes = RoleChanges(fetch)
    await changes.sync_once()
    committed.append(RoleChange(5, "acc-a", 1))
    await changes.sync_once()
    assert changes.is_stale("acc-a", 0) and changes.is_stale("acc-b", 0)


@pytest.mark.parametrize("document", [None, {}, {"items": [{"seq": 1}]}, {"items": "x"}])
def test_a_malformed_page_is_an_error_not_an_empty_list(document):
    with pytest.raises((ValueError, KeyError, TypeError)):
        parse_page(document)


async def test_a_cached_token_is_refused_once_its_roles_changed():
    verifier = TokenVerifier(jwks=json.loads(JWKS_JSON))
    old = token("acc-1", staff={"c1": {"role": "manager"}}, roles_version=0)
    assert (await verifier.verify(old)).is_manager_of("c1")
    assert old in verifier._verified  # the next call is a cache hit
    verifier.role_changes.apply([RoleChange(1, "acc-1", 1)])
    for _ in range(2):
        with pytest.raises(Unauthorized) as caught:
            await verifier.verify(old)
        assert caught.value.code == "roles_changed"
    current = token("acc-1", roles_version=1)
    assert (await verifier.verify(current)).roles_version == 1
