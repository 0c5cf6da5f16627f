"""The events votes emits (docs/events.md), through the outbox in the caller's transaction.
The identity events it consumes are handled by the shared identity replica (app.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events import emit
from services.votes.models import Vote

if TYPE_CHECKING:
    from services.votes.tally import Results


def _base(vote: Vote) -> dict[str, Any]:
    return {
        "community_id": vote.community_id,
        "vote_id": vote.id,
        "title": vote.title,
        "building_ids": vote.building_ids,
    }


def vote_opened(session: AsyncSession, vote: Vote) -> None:
    emit(
        session,
        "votes.vote.opened",
        {**_base(vote), "kind": vote.kind, "closes_at": vote.closes_at.isoformat()},
        ordering_key=vote.id,
    )


def vote_closing_soon(session: AsyncSession, vote: Vote) -> None:
    emit(
        session,
        "votes.vote.closing_soon",
        {**_base(vote), "closes_at": vote.closes_at.isoformat()},
        ordering_key=vote.id,
    )


def vote_closed(session: AsyncSession, vote: Vote, results: Results) -> None:
    """`results` as published to owners: per-motion tallies, or survey option counts (no
    free-text answers, no per-room record)."""
    emit(
        session,
        "votes.vote.closed",
        {**_base(vote), "kind": vote.kind, "results": results},
        ordering_key=vote.id,
    )
