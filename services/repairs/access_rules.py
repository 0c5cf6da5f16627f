"""Who is who on a ticket (reporter, household, desk, assignee, the department's pool) and
what each may see or send: plain functions over the token's claims, no I/O. The ticket's
state machine stays in rules.py; access.py reads these with the caller's bindings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from services.common.auth import Principal


class TicketParties(Protocol):
    """What the roles on a ticket are read from (a `Ticket` row has these)."""

    @property
    def community_id(self) -> str: ...
    @property
    def reporter_id(self) -> str: ...
    @property
    def room_id(self) -> str | None: ...
    @property
    def assignee_id(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def department(self) -> str | None: ...
    @property
    def pooled(self) -> bool: ...


def is_desk(principal: Principal, community_id: str) -> bool:
    """Managers and customer-service staff run the community's tickets."""
    return (
        principal.is_manager_of(community_id)
        or principal.department(community_id) == "customer_service"
    )


# Staff roles that work tickets: the assignee role holds only while its bearer has one of
# these in the ticket's community.
CREW_ROLES = ("crew", "manager")


def is_active_crew(principal: Principal, community_id: str) -> bool:
    """The token's staff claims say the person still works for the community. Enough on its
    own: a token issued before a removal is refused within seconds (common/role_changes.py)."""
    return principal.staff_role(community_id) in CREW_ROLES


def crew_communities(principal: Principal) -> list[str]:
    """The communities whose tickets the person may still work (a crew's queue spans them)."""
    return sorted(cid for cid in principal.staff if is_active_crew(principal, cid))


def roles_given(
    principal: Principal, ticket: TicketParties, bound_since: Mapping[str, datetime]
) -> frozenset[str]:
    """The caller's roles on a ticket, knowing since when they are verified on which rooms:
    one of the household from their binding on, not for what the room filed before."""
    roles = set()
    if ticket.reporter_id == principal.account_id:
        roles.add("reporter")
    since = bound_since.get(ticket.room_id) if ticket.room_id is not None else None
    if since is not None and ticket.created_at >= since:
        roles.add("household")
    if is_desk(principal, ticket.community_id):
        roles.add("desk")
    if (
        ticket.assignee_id is not None
        and ticket.assignee_id == principal.account_id
        and is_active_crew(principal, ticket.community_id)
    ):
        roles.add("assignee")
    if may_claim(principal, ticket):
        roles.add("pool")
    return frozenset(roles)


def may_claim(principal: Principal, ticket: TicketParties) -> bool:
    """Crew of the ticket's department, while it waits in their pool with no one on it."""
    return (
        ticket.pooled
        and ticket.assignee_id is None
        and principal.staff_role(ticket.community_id) == "crew"
        and principal.department(ticket.community_id) == ticket.department
    )


# Roles that see a ticket's contact phone in full (with the community's staff); the household
# sees it masked.
FULL_PHONE_ROLES = frozenset({"reporter", "desk", "assignee"})


def shows_full_phone(principal: Principal, community_id: str, roles: frozenset[str]) -> bool:
    """The reporter and the community's staff; not the other members of the household."""
    return bool(roles & FULL_PHONE_ROLES) or principal.is_staff_of(community_id)


def may_upload(principal: Principal, has_verified_binding: bool) -> bool:
    """Photos come with a report or a step: from someone verified on a room somewhere, or
    staff (any role, any community)."""
    return (
        has_verified_binding
        or principal.platform_admin
        or any(principal.staff_role(cid) for cid in principal.staff)
    )
