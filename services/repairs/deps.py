"""Dependencies of the repairs routes: the clock, the settings, the content checker, and the
ticket loaded together with the caller's roles on it (404 when it is not theirs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request

from services.common.auth import CurrentPrincipal, Principal
from services.common.db import SessionDep
from services.repairs import service
from services.repairs.errors import CommunityNotFound, ContentRisky
from services.repairs.models import Ticket
from services.repairs.schemas import TransitionIn
from services.repairs.settings import Settings
from services.repairs.wechat import ContentChecker


def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _checker(request: Request) -> ContentChecker:
    checker: ContentChecker = request.app.state.content_checker
    return checker


Now = Annotated[datetime, Depends(_now)]
SettingsDep = Annotated[Settings, Depends(_settings)]
CheckerDep = Annotated[ContentChecker, Depends(_checker)]


async def _checked_transition(
    body: TransitionIn, principal: CurrentPrincipal, checker: CheckerDep
) -> TransitionIn:
    """The transition body, its free text (note, rating comment) through msgSecCheck. Routes
    declare it before the ticket, so the outside call happens before any transaction opens."""
    text = "\n".join(t for t in (body.note, body.comment) if t)
    if text and await checker.check(text, principal.openid) == "risky":
        raise ContentRisky()
    return body


CheckedTransition = Annotated[TransitionIn, Depends(_checked_transition)]


@dataclass(frozen=True)
class TicketAccess:
    ticket: Ticket
    roles: frozenset[str]
    principal: Principal


async def _ticket_access(
    session: SessionDep, principal: CurrentPrincipal, ticket_id: Annotated[str, Path(max_length=36)]
) -> TicketAccess:
    ticket, roles = await service.visible_ticket(session, principal, ticket_id)
    return TicketAccess(ticket, roles, principal)


VisibleTicket = Annotated[TicketAccess, Depends(_ticket_access)]


async def _desk_of_community(principal: CurrentPrincipal, cid: Annotated[str, Path(max_length=36)]) -> str:
    """Managers and customer service of the community; to anyone else it does not exist."""
    if not service.is_desk(principal, cid):
        raise CommunityNotFound("小区不存在或您无权查看")
    return cid


DeskCommunity = Annotated[str, Depends(_desk_of_community)]
