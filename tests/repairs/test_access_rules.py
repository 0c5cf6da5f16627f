"""Who is who on a ticket, and what each may see or send (access_rules.py), without HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from services.common.auth import Principal
from services.repairs import access_rules

CID = "c-1"


def _principal(staff: dict | None = None, **kw) -> Principal:
    return Principal(account_id="me", staff={CID: staff} if staff else {}, **kw)


@pytest.mark.parametrize(
    ("principal", "desk"),
    [
        (_principal({"role": "manager", "department": None}), True),
        (_principal({"role": "crew", "department": "customer_service"}), True),
        (_principal({"role": "crew", "department": "repair"}), False),
        (_principal(platform_admin=True), True),
        (_principal(), False),
    ],
    ids=["manager", "customer-service", "repair-crew", "platform-admin", "resident"],
)
def test_who_runs_the_desk(principal, desk):
    assert access_rules.is_desk(principal, CID) is desk
    assert access_rules.is_desk(principal, "another-community") is principal.platform_admin


FILED = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
BOUND = {"room-1": FILED - timedelta(days=30)}  # bound to room-1 a month before the ticket


@dataclass
class _Ticket:
    community_id: str = CID
    reporter_id: str = "someone"
    room_id: str | None = "room-1"
    assignee_id: str | None = None
    created_at: datetime = FILED
    department: str | None = "repair"
    pooled: bool = False


@pytest.mark.parametrize(
    ("ticket", "principal", "bound", "roles"),
    [
        (_Ticket(reporter_id="me"), _principal(), {}, {"reporter"}),
        (_Ticket(), _principal(), BOUND, {"household"}),
        (_Ticket(), _principal(), {"room-1": FILED}, {"household"}),
        # Filed before they were bound: the room's history is not theirs.
        (_Ticket(), _principal(), {"room-1": FILED + timedelta(seconds=1)}, set()),
        (_Ticket(room_id=None), _principal(), BOUND, set()),
        (_Ticket(assignee_id="me"), _principal({"role": "crew", "department": "repair"}),
         {}, {"assignee"}),
        # Still named on the ticket, but no longer crew of its community: no role.
        (_Ticket(assignee_id="me"), _principal(), {}, set()),
        (_Ticket(assignee_id="me", community_id="elsewhere"),
         _principal({"role": "crew", "department": "repair"}), {}, set()),
        (_Ticket(reporter_id="me"), _principal({"role": "manager", "department": None}),
         BOUND, {"reporter", "household", "desk"}),
        (_Ticket(community_id="elsewhere"), _principal({"role": "manager", "department": None}),
         {}, set()),
    ],
    ids=["reporter", "household", "household-bound-as-filed", "filed-before-bound",
         "public-place", "assignee", "assignee-who-left", "assignee-now-elsewhere",
         "manager-who-reported", "foreign"],
)
def test_roles_on_a_ticket(ticket, principal, bound, roles):
    assert access_rules.roles_given(principal, ticket, bound) == roles


@pytest.mark.parametrize(
    ("principal", "roles", "full"),
    [
        (_principal(), {"reporter"}, True),
        (_principal(), {"reporter", "household"}, True),
        (_principal(), {"household"}, False),  # another member of the household
        (_principal({"role": "manager", "department": None}), {"desk"}, True),
        (_principal({"role": "crew", "department": "customer_service"}), {"desk"}, True),
        (_principal({"role": "crew", "department": "repair"}), {"assignee"}, True),
        # Crew of the community who also live in the room: staff, so in full.
        (_principal({"role": "crew", "department": "cleaning"}), {"household"}, True),
        (_principal(platform_admin=True), {"desk"}, True),
    ],
    ids=["reporter", "reporter-of-household", "household-member", "manager", "customer-service",
         "assignee", "crew-living-there", "platform-admin"],
)
def test_who_sees_the_contact_phone_in_full(principal, roles, full):
    assert access_rules.shows_full_phone(principal, CID, frozenset(roles)) is full
    assert access_rules.shows_full_phone(_principal(), "elsewhere", frozenset({"household"})) is False


@pytest.mark.parametrize(
    ("principal", "has_binding", "may"),
    [
        (_principal(), True, True),
        (_principal(), False, False),  # a logged-in account with no verified room
        (_principal({"role": "crew", "department": "repair"}), False, True),
        (_principal({"role": "manager", "department": None}), False, True),
        (_principal(platform_admin=True), False, True),
    ],
    ids=["resident", "no-binding", "crew", "manager", "platform-admin"],
)
def test_who_may_upload(principal, has_binding, may):
    assert access_rules.may_upload(principal, has_binding) is may


@pytest.mark.parametrize(
    ("ticket", "staff", "may"),
    [
        (_Ticket(pooled=True), {"role": "crew", "department": "repair"}, True),
        (_Ticket(pooled=True), {"role": "crew", "department": "cleaning"}, False),
        (_Ticket(pooled=True), {"role": "manager", "department": None}, False),
        (_Ticket(pooled=True, assignee_id="li"), {"role": "crew", "department": "repair"}, False),
        (_Ticket(pooled=False), {"role": "crew", "department": "repair"}, False),
        (_Ticket(pooled=True, community_id="elsewhere"), {"role": "crew", "department": "repair"}, False),
    ],
    ids=["department-crew", "other-department", "manager", "claimed", "not-pooled", "other-community"],
)
def test_who_may_claim_from_the_pool(ticket, staff, may):
    principal = _principal(staff)
    assert access_rules.may_claim(principal, ticket) is may
    assert ("pool" in access_rules.roles_given(principal, ticket, {})) is may
