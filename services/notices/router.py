"""HTTP routes of the notices service: notices, receipts, the inbox, push subscriptions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from services.common.auth import CurrentPrincipal
from services.common.clock import Now
from services.common.csv_export import csv_response
from services.common.db import SessionDep, writes_on_read
from services.common.identity_replica import queries as replica
from services.common.identity_replica.catch_up import raise_if_binding_syncing
from services.common.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page
from services.common.validation import CommunityQuery
from services.notices import (
    attachments,
    care,
    feed,
    inbox,
    readstate,
    receipts,
    subscriptions,
    workflow,
)
from services.notices.attachment_routes import attachment_out
from services.notices.deps import (
    CommunityForPlatformAdmin,
    IdPath,
    ManagedDraft,
    NoticeForManager,
    RuntimeDep,
)
from services.notices.models import Notice
from services.notices.schemas import (
    CommunityNoticeSettings,
    InboxEntryOut,
    InboxPage,
    NoticeOut,
    ReadAllOut,
    Receipts,
    Subscriptions,
    SubscriptionsGrant,
    UnreadCount,
)

router = APIRouter()


def _out(notice: Notice, read: bool | None = None) -> NoticeOut:
    return NoticeOut.model_validate(notice).model_copy(update={"read": read})


@router.post("/notices", status_code=201, response_model=NoticeOut, tags=["notices"])
async def create_notice(
    body: ManagedDraft, principal: CurrentPrincipal, session: SessionDep, rt: RuntimeDep, now: Now
) -> NoticeOut:
    """A draft notice (managers of the community)."""
    return _out(await workflow.create_notice(session, rt.settings, principal.account_id, body, now))


@router.post("/notices/{notice_id}/{action}", response_model=NoticeOut, tags=["notices"])
async def notice_action(
    action: Literal["submit", "approve", "publish", "withdraw"],
    notice: NoticeForManager,
    principal: CurrentPrincipal,
    session: SessionDep,
    now: Now,
    rt: RuntimeDep,
) -> NoticeOut:
    """The workflow: submit (the other managers hear of it), approve (not one's own, unless
    single-manager mode), publish (at once, or scheduled at publish_at; emergencies skip
    review), withdraw."""
    return _out(await workflow.transition(session, rt, notice, action, principal.account_id, now))


@router.put(
    "/notices/settings",
    response_model=CommunityNoticeSettings,
    tags=["notices"],
    responses={
        403: {
            "description": "只有平台管理员可以设置（single_manager_admin_only）",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    },
)
async def put_settings(
    community_id: CommunityForPlatformAdmin,
    body: CommunityNoticeSettings,
    session: SessionDep,
    now: Now,
) -> CommunityNoticeSettings:
    """Single-manager mode: the community's one manager may approve their own notices. Set by
    a platform admin only, since it lifts the two-person rule that binds the managers."""
    await workflow.set_single_manager(session, community_id, body.single_manager, now)
    return body


@router.get("/notices", response_model=Page[NoticeOut], tags=["notices"])
async def list_notices(
    request: Request,
    community_id: CommunityQuery,
    principal: CurrentPrincipal,
    session: SessionDep,
    now: Now,
    view: Annotated[Literal["feed", "manage"] | None, Query()] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[NoticeOut]:
    """The caller's feed (published notices targeting their verified rooms, pinned and
    emergency first, with `read`); managers get every notice of the community unless they
    ask for `view=feed`."""
    if principal.is_manager_of(community_id) and view != "feed":
        rows, next_cursor = await feed.manager_list(session, community_id, status, limit, cursor)
        return Page(items=[_out(n) for n in rows], next_cursor=next_cursor)
    items, next_cursor = await feed.feed(
        session, principal.account_id, community_id, now, limit, cursor
    )
    if not items and cursor is None and not await replica.active_bindings_of(
        session, principal.account_id, community_id
    ):
        # Verified a moment ago and not replicated yet: 409 binding_syncing, not an empty feed.
        await raise_if_binding_syncing(request, session, principal.account_id, community_id)
    return Page(items=[_out(n, read) for n, read in items], next_cursor=next_cursor)


@router.get("/notices/{notice_id}", response_model=NoticeOut, tags=["notices"])
@writes_on_read  # opening a notice records the read
async def get_notice(
    notice_id: IdPath, principal: CurrentPrincipal, session: SessionDep, rt: RuntimeDep, now: Now
) -> NoticeOut:
    """One notice with its pictures and files. For an owner it must target them (else 404),
    and opening it records the read once per account and household."""
    notice = await session.get(Notice, notice_id)
    read: bool | None = None
    if notice is None or not principal.is_manager_of(notice.community_id):
        notice, read = await feed.open_notice(session, principal.account_id, notice_id, now), True
    files = (await attachments.attachments_of(session, [notice.id]))[notice.id]
    return _out(notice, read).model_copy(
        update={"attachments": [attachment_out(rt.settings, a) for a in files]}
    )


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
    """Reach in households, overall and by building; the households that have not read it
    (the care list first) with the owners' masked phones. `format=csv` exports every household."""
    rows = await receipts.households(session, notice)
    if format == "csv":
        return csv_response(
            f"receipts-{notice.id}.csv", receipts.CSV_HEADER, receipts.receipts_csv_rows(rows)
        )
    care_flags = await care.flagged_categories(session, [h.room.room_id for h in rows if not h.read])
    return Receipts.model_validate(
        receipts.receipts_of(notice, rows, care_flags), from_attributes=True
    )


@router.get("/inbox", response_model=InboxPage, tags=["inbox"])
async def get_inbox(
    principal: CurrentPrincipal,
    session: SessionDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> InboxPage:
    """Personal notifications, newest first, with the unread count."""
    rows, next_cursor = await inbox.inbox_page(session, principal.account_id, limit, cursor)
    return InboxPage(
        items=[InboxEntryOut.of(e) for e in rows],
        next_cursor=next_cursor,
        unread_count=await inbox.unread_count(session, principal.account_id),
    )


@router.get("/inbox/unread-count", response_model=UnreadCount, tags=["inbox"])
async def get_unread_count(principal: CurrentPrincipal, session: SessionDep) -> UnreadCount:
    """The unread count, and per kind (`notice_emergency`, `repair_progress`, ...) for badges."""
    by_kind = await readstate.unread_by_kind(session, principal.account_id)
    return UnreadCount(unread_count=sum(by_kind.values()), by_kind=by_kind)


@router.post("/inbox/read-all", response_model=ReadAllOut, tags=["inbox"])
async def read_all(
    principal: CurrentPrincipal,
    session: SessionDep,
    now: Now,
    kind: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
) -> ReadAllOut:
    """Marks every unread entry (of one `kind`, when given) read; a notice's entry records
    the notice's read too. Safe to repeat."""
    marked = await readstate.read_all(session, principal.account_id, now, kind)
    by_kind = await readstate.unread_by_kind(session, principal.account_id)
    return ReadAllOut(marked=marked, unread_count=sum(by_kind.values()), by_kind=by_kind)


@router.post("/inbox/{entry_id}/read", response_model=InboxEntryOut, tags=["inbox"])
async def read_entry(
    entry_id: IdPath, principal: CurrentPrincipal, session: SessionDep, now: Now
) -> InboxEntryOut:
    """The entry read; a notice's entry records the notice's read too."""
    entry = await readstate.read_entry(session, principal.account_id, entry_id, now)
    return InboxEntryOut.of(entry)


@router.get("/me/subscriptions", response_model=Subscriptions, tags=["subscriptions"])
async def get_subscriptions(
    principal: CurrentPrincipal, session: SessionDep, rt: RuntimeDep
) -> Subscriptions:
    """The templates the Mini Program should ask for, and the caller's unused consents."""
    consents = await subscriptions.consents_of(session, rt, principal.account_id)
    return Subscriptions.model_validate(consents, from_attributes=True)


@router.post("/me/subscriptions", response_model=Subscriptions, tags=["subscriptions"])
async def post_subscriptions(
    body: SubscriptionsGrant,
    principal: CurrentPrincipal,
    session: SessionDep,
    rt: RuntimeDep,
    now: Now,
) -> Subscriptions:
    """Consents accepted in `wx.requestSubscribeMessage`: one push each."""
    await subscriptions.grant_consents(session, rt, principal.account_id, body.template_ids, now)
    consents = await subscriptions.consents_of(session, rt, principal.account_id)
    return Subscriptions.model_validate(consents, from_attributes=True)
