"""HTTP routes of the notices service: notices, receipts, the inbox, push subscriptions."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from services.common.auth import CurrentPrincipal, Principal
from services.common.db import SessionDep
from services.common.errors import Forbidden
from services.common.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page
from services.notices import service
from services.notices.errors import NoticeNotFound
from services.notices.models import Notice
from services.notices.runtime import Runtime
from services.notices.schemas import (
    CommunityNoticeSettings,
    InboxEntryOut,
    InboxPage,
    NoticeCreate,
    NoticeOut,
    Receipts,
    Subscriptions,
    SubscriptionsGrant,
    UnreadCount,
)

router = APIRouter()

IdPath = Annotated[str, Path(max_length=64)]
CommunityQuery = Annotated[str, Query(min_length=1, max_length=36)]


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.notices
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def _require_manager(principal: Principal, community_id: str) -> None:
    if not principal.is_manager_of(community_id):
        raise Forbidden("只有本小区的管理员可以管理公告", code="not_community_manager")


async def _notice_for_manager(
    notice_id: IdPath, principal: CurrentPrincipal, session: SessionDep
) -> Notice:
    """The notice, if the caller manages its community; otherwise it does not exist."""
    notice = await session.get(Notice, notice_id)
    if notice is None or not principal.is_manager_of(notice.community_id):
        raise NoticeNotFound()
    return notice


NoticeForManager = Annotated[Notice, Depends(_notice_for_manager)]


def _out(notice: Notice, read: bool | None = None) -> NoticeOut:
    return NoticeOut.model_validate(notice).model_copy(update={"read": read})


@router.post("/notices", status_code=201, response_model=NoticeOut, tags=["notices"])
async def create_notice(
    body: NoticeCreate, principal: CurrentPrincipal, session: SessionDep, rt: RuntimeDep
) -> NoticeOut:
    """A draft notice (managers of the community)."""
    _require_manager(principal, body.community_id)
    return _out(await service.create_notice(session, rt, principal.account_id, body))


@router.post("/notices/{notice_id}/{action}", response_model=NoticeOut, tags=["notices"])
async def notice_action(
    action: Literal["submit", "approve", "publish", "withdraw"],
    notice: NoticeForManager,
    principal: CurrentPrincipal,
    session: SessionDep,
    rt: RuntimeDep,
) -> NoticeOut:
    """The workflow: submit, approve (not one's own, unless single-manager mode), publish
    (at once, or scheduled at publish_at; emergencies skip review), withdraw."""
    return _out(await service.transition(session, rt, notice, action, principal.account_id))


@router.put("/notices/settings", response_model=CommunityNoticeSettings, tags=["notices"])
async def put_settings(
    community_id: CommunityQuery,
    body: CommunityNoticeSettings,
    principal: CurrentPrincipal,
    session: SessionDep,
    rt: RuntimeDep,
) -> CommunityNoticeSettings:
    """Single-manager mode: the community's one manager may approve their own notices."""
    _require_manager(principal, community_id)
    await service.set_single_manager(session, community_id, body.single_manager, rt.clock.now())
    return body


@router.get("/notices", response_model=Page[NoticeOut], tags=["notices"])
async def list_notices(
    community_id: CommunityQuery,
    principal: CurrentPrincipal,
    session: SessionDep,
    rt: RuntimeDep,
    view: Annotated[Literal["feed", "manage"] | None, Query()] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[NoticeOut]:
    """The caller's feed (published notices targeting their verified rooms, pinned and
    emergency first, with `read`); managers get every notice of the community unless they
    ask for `view=feed`."""
    if principal.is_manager_of(community_id) and view != "feed":
        rows, next_cursor = await service.manager_list(session, community_id, status, limit, cursor)
        return Page(items=[_out(n) for n in rows], next_cursor=next_cursor)
    items, next_cursor = await service.feed(
        session, principal.account_id, community_id, rt.clock.now(), limit, cursor
    )
    return Page(items=[_out(n, read) for n, read in items], next_cursor=next_cursor)


@router.get("/notices/{notice_id}", response_model=NoticeOut, tags=["notices"])
async def get_notice(
    notice_id: IdPath, principal: CurrentPrincipal, session: SessionDep, rt: RuntimeDep
) -> NoticeOut:
    """One notice. For an owner it must target them (else 404), and opening it records
    the read once per account and household."""
    notice = await session.get(Notice, notice_id)
    if notice is not None and principal.is_manager_of(notice.community_id):
        return _out(notice)
    notice = await service.open_notice(session, principal.account_id, notice_id, rt.clock.now())
    return _out(notice, True)


@router.get(
    "/notices/{notice_id}/receipts",
    response_model=Receipts,
    tags=["notices"],
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def get_receipts(
    notice: NoticeForManager,
    session: SessionDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Receipts | Response:
    """Reach in households, overall and by building; for an emergency, the households that
    have not read it with the owners' masked phones. `format=csv` exports every household."""
    rows = await service.households(session, notice)
    if format == "csv":
        buffer = io.StringIO()
        # BOM so that Excel opens the Chinese text as UTF-8.
        buffer.write("\ufeff")
        csv.writer(buffer).writerows(service.receipts_csv_rows(rows))
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="receipts-{notice.id}.csv"'},
        )
    return Receipts.model_validate(service.receipts_of(notice, rows))


@router.get("/inbox", response_model=InboxPage, tags=["inbox"])
async def get_inbox(
    principal: CurrentPrincipal,
    session: SessionDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> InboxPage:
    """Personal notifications, newest first, with the unread count."""
    rows, next_cursor = await service.inbox_page(session, principal.account_id, limit, cursor)
    return InboxPage(
        items=[InboxEntryOut.of(e) for e in rows],
        next_cursor=next_cursor,
        unread_count=await service.unread_count(session, principal.account_id),
    )


@router.get("/inbox/unread-count", response_model=UnreadCount, tags=["inbox"])
async def get_unread_count(principal: CurrentPrincipal, session: SessionDep) -> UnreadCount:
    return UnreadCount(unread_count=await service.unread_count(session, principal.account_id))


@router.post("/inbox/{entry_id}/read", response_model=InboxEntryOut, tags=["inbox"])
async def read_entry(
    entry_id: IdPath, principal: CurrentPrincipal, session: SessionDep, rt: RuntimeDep
) -> InboxEntryOut:
    entry = await service.mark_read(session, principal.account_id, entry_id, rt.clock.now())
    return InboxEntryOut.of(entry)


@router.get("/me/subscriptions", response_model=Subscriptions, tags=["subscriptions"])
async def get_subscriptions(
    principal: CurrentPrincipal, session: SessionDep, rt: RuntimeDep
) -> Subscriptions:
    """The templates the Mini Program should ask for, and the caller's unused consents."""
    return Subscriptions.model_validate(
        await service.consents_of(session, rt, principal.account_id)
    )


@router.post("/me/subscriptions", response_model=Subscriptions, tags=["subscriptions"])
async def post_subscriptions(
    body: SubscriptionsGrant, principal: CurrentPrincipal, session: SessionDep, rt: RuntimeDep
) -> Subscriptions:
    """Consents accepted in `wx.requestSubscribeMessage`: one push each."""
    await service.grant_consents(
        session, rt, principal.account_id, body.template_ids, rt.clock.now()
    )
    return Subscriptions.model_validate(
        await service.consents_of(session, rt, principal.account_id)
    )
