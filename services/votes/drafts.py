"""Drafting a vote or survey: create it with its motions or questions, and edit it until it
opens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import new_id
from services.common.identity_replica import queries as replica
from services.votes import errors, rules
from services.votes.access import items_of
from services.votes.lifecycle import lock_vote
from services.votes.models import Vote, VoteItem
from services.votes.schemas import MotionIn, QuestionIn, VoteCreate, VoteUpdate


def _motion_item(vote: Vote, position: int, m: MotionIn) -> VoteItem:
    return VoteItem(
        id=new_id(),
        vote_id=vote.id,
        community_id=vote.community_id,
        position=position,
        kind="motion",
        title=m.title,
        matter=m.matter,
        max_choices=1,
        options=[{"id": o, "label": rules.MOTION_OPTION_LABELS[o]} for o in rules.MOTION_OPTIONS],
    )


def _question_item(vote: Vote, position: int, q: QuestionIn) -> VoteItem:
    max_choices = None
    if q.type == "single":
        max_choices = 1
    elif q.type == "multiple":
        max_choices = q.max_choices or len(q.options)
    return VoteItem(
        id=new_id(),
        vote_id=vote.id,
        community_id=vote.community_id,
        position=position,
        kind=q.type,
        title=q.title,
        max_choices=max_choices,
        options=[{"id": str(n), "label": label} for n, label in enumerate(q.options, start=1)],
    )


async def _check_scope(
    session: AsyncSession, community_id: str, building_ids: list[str] | None
) -> None:
    if building_ids is None:
        return
    known = await replica.known_building_ids(session, community_id)
    unknown = sorted(set(building_ids) - known)
    if unknown:
        raise errors.UnknownBuilding(details={"building_ids": unknown})


async def _replace_items(
    session: AsyncSession,
    vote: Vote,
    motions: list[MotionIn] | None,
    questions: list[QuestionIn] | None,
) -> None:
    await session.execute(delete(VoteItem).where(VoteItem.vote_id == vote.id))
    if vote.kind == "vote":
        session.add_all([_motion_item(vote, n, m) for n, m in enumerate(motions or [])])
    else:
        session.add_all([_question_item(vote, n, q) for n, q in enumerate(questions or [])])


async def create_vote(
    session: AsyncSession, principal: Principal, body: VoteCreate, now: datetime
) -> Vote:
    if rules.closing_time_passed(body.closes_at, now):
        raise errors.ClosingTimePassed()
    building_ids = body.scope.building_ids
    await _check_scope(session, body.community_id, building_ids)
    vote = Vote(
        id=new_id(),
        community_id=body.community_id,
        kind=body.kind,
        title=body.title,
        description=body.description,
        building_ids=sorted(set(building_ids)) if building_ids is not None else None,
        opens_at=body.opens_at,
        closes_at=body.closes_at,
        allow_change=body.allow_change,
        anonymous=body.anonymous,
        live_results=body.live_results,
        status="draft",
        created_by=principal.account_id,
        created_at=now,
        updated_at=now,
        closing_soon_sent=False,
    )
    session.add(vote)
    await session.flush()
    await _replace_items(session, vote, body.motions, body.questions)
    await session.flush()
    return vote


async def update_vote(session: AsyncSession, vote: Vote, body: VoteUpdate, now: datetime) -> Vote:
    await lock_vote(session, vote)
    if not rules.can_edit(vote.status):
        raise errors.VoteNotEditable()
    changes = body.model_dump(exclude_unset=True)
    anonymous = changes.get("anonymous", vote.anonymous)
    allow_change = changes.get("allow_change", vote.allow_change)
    opens_at = changes.get("opens_at", vote.opens_at)
    closes_at = body.closes_at if body.closes_at is not None else vote.closes_at
    items_given = "motions" in changes or "questions" in changes
    current_kinds = {i.kind for i in await items_of(session, vote.id)}
    problem = rules.vote_problem(
        vote.kind,
        bool(body.motions) if items_given else "motion" in current_kinds,
        bool(body.questions) if items_given else bool(current_kinds - {"motion"}),
        anonymous=bool(anonymous),
        allow_change=bool(allow_change),
        opens_at=opens_at,
        closes_at=closes_at,
    )
    if problem is not None:
        raise errors.InvalidVote(problem)
    if rules.closing_time_passed(closes_at, now):
        raise errors.ClosingTimePassed()
    if body.scope is not None:
        await _check_scope(session, vote.community_id, body.scope.building_ids)
        ids = body.scope.building_ids
        vote.building_ids = sorted(set(ids)) if ids is not None else None
    for name in ("title", "description", "allow_change", "anonymous", "live_results"):
        if changes.get(name) is not None:
            setattr(vote, name, changes[name])
    if "opens_at" in changes:
        vote.opens_at = body.opens_at
    vote.closes_at = closes_at
    if items_given:
        await _replace_items(session, vote, body.motions, body.questions)
    vote.updated_at = now
    await session.flush()
    return vote
