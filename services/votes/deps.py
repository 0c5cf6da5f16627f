"""Dependencies that load a vote and authorize the caller in one step, so a route cannot
forget the check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request

from services.common.auth import CurrentPrincipal, Principal, require_manager
from services.common.db import SessionDep
from services.common.identity_replica.catch_up import raise_if_binding_syncing
from services.votes import errors, rules
from services.votes.access import Viewer, viewer_of
from services.votes.models import Vote

VoteId = Annotated[str, Path(min_length=1, max_length=36)]


async def _vote_for_manager(
    vote_id: VoteId, session: SessionDep, principal: CurrentPrincipal
) -> Vote:
    """A vote of a community the caller manages; a vote elsewhere looks unknown."""
    vote = await session.get(Vote, vote_id)
    if vote is None:
        raise errors.VoteNotFound()
    require_manager(principal, vote.community_id, not_found=errors.VoteNotFound)
    return vote


ManagedVote = Annotated[Vote, Depends(_vote_for_manager)]


@dataclass
class VoteView:
    vote: Vote
    viewer: Viewer
    principal: Principal


async def _vote_for_viewer(
    vote_id: VoteId, session: SessionDep, principal: CurrentPrincipal, request: Request
) -> VoteView:
    """Managers of the community, or verified household members of a room in the electorate
    of an open or closed vote; everybody else gets the same 404 as for an unknown vote —
    unless identity verified the caller in the community a moment ago and the replica has not
    heard yet (409 `binding_syncing`, identity_replica/catch_up.py)."""
    vote = await session.get(Vote, vote_id)
    if vote is None:
        raise errors.VoteNotFound()
    viewer = await viewer_of(session, vote, principal)
    if viewer is None:
        if rules.has_electorate(vote.status):
            await raise_if_binding_syncing(request, session, principal.account_id, vote.community_id)
        raise errors.VoteNotFound()
    return VoteView(vote=vote, viewer=viewer, principal=principal)


VisibleVote = Annotated[VoteView, Depends(_vote_for_viewer)]
