"""Dependencies that load a vote and authorize the caller in one step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request

from services.common.auth import CurrentPrincipal, Principal
from services.common.db import SessionDep
from services.votes import errors, service
from services.votes.models import Vote


def _now(request: Request) -> datetime:
    return request.app.state.clock.now()


Now = Annotated[datetime, Depends(_now)]
VoteId = Annotated[str, Path(min_length=1, max_length=36)]


async def _vote_for_manager(vote_id: VoteId, session: SessionDep, principal: CurrentPrincipal) -> Vote:
    vote = await session.get(Vote, vote_id)
    if vote is None or not principal.is_manager_of(vote.community_id):
        raise errors.VoteNotFound()
    return vote


ManagedVote = Annotated[Vote, Depends(_vote_for_manager)]


@dataclass
class VoteView:
    vote: Vote
    viewer: service.Viewer
    principal: Principal


async def _vote_for_viewer(vote_id: VoteId, session: SessionDep, principal: CurrentPrincipal) -> VoteView:
    """Managers of the community, or verified household members of a room in the electorate
    of an open or closed vote; everybody else gets the same 404 as for an unknown vote."""
    vote = await session.get(Vote, vote_id)
    if vote is None:
        raise errors.VoteNotFound()
    viewer = await service.viewer_of(session, vote, principal)
    if viewer is None:
        raise errors.VoteNotFound()
    return VoteView(vote=vote, viewer=viewer, principal=principal)


VisibleVote = Annotated[VoteView, Depends(_vote_for_viewer)]


def require_manager(principal: Principal, community_id: str) -> None:
    """Managing a community someone does not manage looks like an unknown community."""
    if not principal.is_manager_of(community_id):
        raise errors.NotFound("小区不存在", code="community_not_found")
