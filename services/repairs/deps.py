"""Dependencies of the repairs routes: the settings, the content checker, and what is loaded
and authorized in one step: the ticket with the caller's roles on it (404 when it is not
theirs), a photo they may see, a community they run the desk of or manage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import Depends, Path

from services.common.auth import CurrentPrincipal, Principal, require_manager
from services.common.db import SessionDep
from services.common.state import app_state
from services.repairs import access_rules
from services.repairs.access import require_reporter_in, visible_ticket
from services.repairs.errors import ContentRisky, NotDeskOfCommunity
from services.repairs.models import Ticket, Upload
from services.repairs.schemas import TransitionIn
from services.repairs.settings import Settings
from services.repairs.uploads import upload_for_viewer
from services.repairs.wechat import ContentChecker

Id = Annotated[str, Path(max_length=36)]


SettingsDep = Annotated[Settings, Depends(app_state("settings", Settings))]
CheckerDep = Annotated[ContentChecker, Depends(app_state("content_checker", ContentChecker))]


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
    session: SessionDep, principal: CurrentPrincipal, ticket_id: Id
) -> TicketAccess:
    ticket, roles = await visible_ticket(session, principal, ticket_id)
    return TicketAccess(ticket, roles, principal)


VisibleTicket = Annotated[TicketAccess, Depends(_ticket_access)]


@dataclass(frozen=True)
class PhotoFile:
    upload: Upload
    path: FilePath


async def _viewable_upload(
    session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep, upload_id: Id
) -> PhotoFile:
    upload, path = await upload_for_viewer(session, settings, principal, upload_id)
    return PhotoFile(upload, path)


# A photo for its uploader, or anyone who may see its ticket; 404 to everyone else.
ViewableUpload = Annotated[PhotoFile, Depends(_viewable_upload)]


async def _reporting_community(session: SessionDep, principal: CurrentPrincipal, cid: Id) -> str:
    """Residents and staff of the community (those who may report there); 404 to anyone else."""
    await require_reporter_in(session, principal, cid)
    return cid


ReportingCommunity = Annotated[str, Depends(_reporting_community)]


async def _desk_of_community(principal: CurrentPrincipal, cid: Id) -> str:
    """Managers and customer service of the community; to anyone else it does not exist."""
    if not access_rules.is_desk(principal, cid):
        raise NotDeskOfCommunity()
    return cid


DeskCommunity = Annotated[str, Depends(_desk_of_community)]


async def _managed_community(principal: CurrentPrincipal, cid: Id) -> str:
    """The common "manages this community" check, for routes whose path names it `{cid}`."""
    require_manager(principal, cid)
    return cid


ManagedCommunity = Annotated[str, Depends(_managed_community)]
