"""The one "manages this community" check: one status and one code wherever it is asked."""

from __future__ import annotations

import pytest

from services.common.auth import CommunityNotFound, Principal, require_manager, require_staff

MANAGER = Principal("m", staff={"c1": {"role": "manager"}})
CREW = Principal("k", staff={"c1": {"role": "crew", "department": "repair"}})
ADMIN = Principal("a", platform_admin=True)
OWNER = Principal("o")


@pytest.mark.parametrize(
    ("principal", "community", "manages", "staffs"),
    [
        (MANAGER, "c1", True, True),
        (MANAGER, "c2", False, False),
        (CREW, "c1", False, True),
        (ADMIN, "any", True, True),
        (OWNER, "c1", False, False),
    ],
)
def test_manager_and_staff_checks(principal, community, manages, staffs):
    for check, allowed in ((require_manager, manages), (require_staff, staffs)):
        if allowed:
            check(principal, community)
        else:
            with pytest.raises(CommunityNotFound) as caught:
                check(principal, community)
            assert (caught.value.status_code, caught.value.code) == (404, "community_not_found")
            assert caught.value.message == "小区不存在"
