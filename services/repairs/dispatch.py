"""Dispatch rules: where each category's tickets go when the desk accepts them (a default
crew member, or the department's pool), kept in the community's settings and set by its
manager."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.community_settings import merge_settings, read_settings
from services.common.identity_replica import queries as replica
from services.repairs import rules
from services.repairs.config import categories_of
from services.repairs.errors import AssigneeNotFound, AssigneeOutsideDepartment, UnknownCategory
from services.repairs.models import CommunityConfig
from services.repairs.schemas import AssignmentRuleIO, AssignmentRules
from services.repairs.settings import Settings

_KEY = "assignment_rules"


async def _stored(session: AsyncSession, community_id: str) -> dict[str, dict[str, Any]]:
    stored = await read_settings(session, CommunityConfig, community_id)
    raw: dict[str, dict[str, Any]] = stored.get(_KEY) or {}
    return raw


async def rule_for(
    session: AsyncSession, community_id: str, category: str
) -> rules.AssignmentRule | None:
    """The category's rule, or None (then accept_assign pools the ticket)."""
    raw = (await _stored(session, community_id)).get(category)
    if raw is None:
        return None
    return rules.AssignmentRule(cast(rules.AssignMode, raw["mode"]), raw.get("assignee_id"))


async def rules_of(session: AsyncSession, community_id: str) -> AssignmentRules:
    """Every rule of the community, each with its crew member's name as the replica has it."""
    raw = await _stored(session, community_id)
    out = []
    for category, rule in sorted(raw.items()):
        assignee = rule.get("assignee_id")
        staff = (
            await replica.staff_member(session, community_id, assignee) if assignee else None
        )
        out.append(
            AssignmentRuleIO(
                category=category, mode=rule["mode"], assignee_id=assignee,
                assignee_name=staff.name if staff else None,
            )
        )
    return AssignmentRules(rules=out)


async def set_rules(
    session: AsyncSession,
    settings: Settings,
    community_id: str,
    body: AssignmentRules,
    now: datetime,
) -> None:
    """Replaces the community's rules. Each names one of its categories; a default crew
    member must be active crew of the community in that category's department (else 422)."""
    categories = await categories_of(session, settings, community_id)
    values: dict[str, dict[str, Any]] = {}
    for rule in body.rules:
        category = categories.get(rule.category)
        if category is None:
            raise UnknownCategory(sorted(categories))
        if rule.mode == "crew":
            assert rule.assignee_id is not None  # the schema requires it for `crew`
            staff = await replica.staff_member(session, community_id, rule.assignee_id)
            if staff is None or not rules.assignable(staff.role, staff.department):
                raise AssigneeNotFound()
            if staff.department != category.department:
                raise AssigneeOutsideDepartment()
        values[rule.category] = {"mode": rule.mode, "assignee_id": rule.assignee_id}
    await merge_settings(session, CommunityConfig, community_id, {_KEY: values}, now)
