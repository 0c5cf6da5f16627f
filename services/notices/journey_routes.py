"""HTTP routes of the managers' journeys in notices: resend a notice to the unread, the care
list (关注特殊人群) with recorded reveals, and activities with sign-up (社区活动)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from services.common.auth import CurrentPrincipal, require_manager, require_staff
from services.common.clock import Now
from services.common.csv_export import csv_response
from services.common.db import SessionDep
from services.common.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page
from services.common.validation import CommunityQuery
from services.notices import activities, activity_listing, care, resend
from services.notices.deps import IdPath, NoticeForManager, RuntimeDep
from services.notices.errors import ActivityNotFound, NoticeNotFound
from services.notices.journey_schemas import (
    ActivityCreate,
    ActivityOut,
    CancelOut,
    CareHouseholdIn,
    CareHouseholdOut,
    CheckInIn,
    ResendOut,
    RevealIn,
    RevealOut,
    RevealRecordOut,
    SignupIn,
    SignupOut,
)
from services.notices.models import Activity, Notice

router = APIRouter()


# --- resend to the unread ---------------------------------------------------------------------


@router.post("/notices/{notice_id}/resend", status_code=202, response_model=ResendOut, tags=["notices"])
async def resend_to_unread(
    notice: NoticeForManager, session: SessionDep, rt: RuntimeDep, now: Now
) -> ResendOut:
    """Pushes a published notice again to the households that have not read it (inbox entry
    and push), at most once per notice per `NOTICES_RESEND_INTERVAL_HOURS`. Managers only."""
    households, accounts, next_at = await resend.resend_to_unread(session, rt, notice, now)
    return ResendOut(
        notice_id=notice.id,
        households=households,
        accounts=accounts,
        resent_at=now,
        next_allowed_at=next_at,
    )


# --- the care list ------------------------------------------------------------------------------


async def _manager_of(community_id: CommunityQuery, principal: CurrentPrincipal) -> str:
    require_manager(principal, community_id)
    return community_id


async def _staff_of(community_id: CommunityQuery, principal: CurrentPrincipal) -> str:
    require_staff(principal, community_id)
    return community_id


ManagerCommunity = Annotated[str, Depends(_manager_of)]
StaffCommunity = Annotated[str, Depends(_staff_of)]
RoomPath = Annotated[str, IdPath]


@router.get("/care-list", response_model=Page[CareHouseholdOut], tags=["care"])
async def care_list(
    community_id: StaffCommunity,
    session: SessionDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """The community's care list (staff), by room; contact phones masked."""
    items, next_cursor = await care.care_list(session, community_id, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/care-list/reveals", response_model=Page[RevealRecordOut], tags=["care"])
async def care_reveals(
    community_id: ManagerCommunity,
    session: SessionDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Every reveal of a contact's full phone: who, when, why (managers), newest first."""
    items, next_cursor = await care.reveals(session, community_id, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.put("/care-list/{room_id}", response_model=CareHouseholdOut, tags=["care"])
async def flag_household(
    room_id: RoomPath,
    body: CareHouseholdIn,
    community_id: ManagerCommunity,
    principal: CurrentPrincipal,
    session: SessionDep,
    now: Now,
) -> dict[str, Any]:
    """Puts a household (a room with a verified member) on the care list, or changes it."""
    return dict(
        await care.flag_household(
            session,
            community_id,
            room_id,
            categories=body.categories,
            note=body.note,
            contact_name=body.contact_name,
            contact_phone=body.contact_phone,
            by=principal.account_id,
            now=now,
        )
    )


@router.delete("/care-list/{room_id}", status_code=204, tags=["care"])
async def unflag_household(
    room_id: RoomPath, community_id: ManagerCommunity, session: SessionDep
) -> Response:
    await care.unflag_household(session, community_id, room_id)
    return Response(status_code=204)


@router.post("/care-list/{room_id}/reveal", response_model=RevealOut, tags=["care"])
async def reveal_contact(
    room_id: RoomPath,
    body: RevealIn,
    community_id: StaffCommunity,
    principal: CurrentPrincipal,
    session: SessionDep,
    now: Now,
) -> RevealOut:
    """The contact's full phone for a follow-up call (staff), with a reason that is recorded
    (who, when, why) and listed for the managers."""
    flag, record = await care.reveal_contact(
        session, community_id, room_id, body.reason, principal.account_id, now
    )
    return RevealOut(
        room_id=flag.room_id,
        contact_name=flag.contact_name,
        contact_phone=flag.contact_phone,
        reveal_id=record.id,
        revealed_at=record.revealed_at,
    )


# --- activities ----------------------------------------------------------------------------------


async def _activity_for_staff(
    activity_id: IdPath, principal: CurrentPrincipal, session: SessionDep
) -> Activity:
    activity = await session.get(Activity, activity_id)
    if activity is None or not principal.is_staff_of(activity.community_id):
        raise ActivityNotFound()
    return activity


StaffActivity = Annotated[Activity, Depends(_activity_for_staff)]


@router.post("/activities", status_code=201, response_model=ActivityOut, tags=["activities"])
async def create_activity(
    body: ActivityCreate, principal: CurrentPrincipal, session: SessionDep, now: Now
) -> dict[str, Any]:
    """Opens the sign-up of an activity notice (category `activity`; managers)."""
    notice = await session.get(Notice, body.notice_id)
    if notice is None:
        raise NoticeNotFound()
    require_manager(principal, notice.community_id, not_found=NoticeNotFound)
    activity = await activities.create_activity(
        session,
        notice,
        location=body.location,
        starts_at=body.starts_at,
        signup_deadline=body.signup_deadline,
        capacity=body.capacity,
        per_household_limit=body.per_household_limit,
        by=principal.account_id,
        now=now,
    )
    return await activity_listing.summary(session, activity, notice, None)


@router.get("/activities", response_model=Page[ActivityOut], tags=["activities"])
async def list_activities(
    community_id: CommunityQuery,
    principal: CurrentPrincipal,
    session: SessionDep,
    now: Now,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Owners: the upcoming activities that target them, soonest first, with their sign-up.
    Managers: every activity of the community."""
    rows, next_cursor = await activity_listing.activities_for(
        session,
        community_id,
        principal.account_id,
        manager=principal.is_manager_of(community_id),
        now=now,
        limit=limit,
        cursor=cursor,
    )
    items = await activity_listing.summaries(session, rows, principal.account_id)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/activities/{activity_id}", response_model=ActivityOut, tags=["activities"])
async def get_activity(
    activity_id: IdPath, principal: CurrentPrincipal, session: SessionDep, now: Now
) -> dict[str, Any]:
    activity = await session.get(Activity, activity_id)
    if activity is not None and principal.is_staff_of(activity.community_id):
        notice = await session.get(Notice, activity_id)
        assert notice is not None
    else:
        activity, notice = await activity_listing.visible_activity(
            session, activity_id, principal.account_id, now
        )
    return await activity_listing.summary(session, activity, notice, principal.account_id)


@router.post(
    "/activities/{activity_id}/signups", status_code=201, response_model=SignupOut, tags=["activities"]
)
async def sign_up(
    activity_id: IdPath, body: SignupIn, principal: CurrentPrincipal, session: SessionDep, now: Now
) -> SignupOut:
    """Signs the caller's household up: `confirmed`, or `waitlisted` when the places are
    taken. Once per account; past the deadline, refused."""
    activity, notice = await activity_listing.visible_activity(
        session, activity_id, principal.account_id, now
    )
    signup = await activities.sign_up(
        session, activity, notice, principal.account_id, body.room_id, body.people, now
    )
    return SignupOut.model_validate(signup)


@router.delete("/activities/{activity_id}/signups/mine", response_model=CancelOut, tags=["activities"])
async def cancel_signup(
    activity_id: IdPath, principal: CurrentPrincipal, session: SessionDep, rt: RuntimeDep, now: Now
) -> CancelOut:
    """Cancels the caller's sign-up; the waitlist moves up in order into the freed places."""
    activity, _ = await activity_listing.visible_activity(session, activity_id, principal.account_id, now)
    signup, moved = await activities.cancel(session, rt, activity, principal.account_id, now)
    return CancelOut(signup=SignupOut.model_validate(signup), moved_up=len(moved))


@router.get(
    "/activities/{activity_id}/signups",
    response_model=Page[SignupOut],
    tags=["activities"],
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def list_signups(
    activity: StaffActivity,
    principal: CurrentPrincipal,
    session: SessionDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[SignupOut] | Response:
    """The organiser's list (staff): confirmed, then the waitlist in order, then cancelled.
    `format=csv` (managers) exports every sign-up, formula-safe."""
    if format == "csv":
        require_manager(principal, activity.community_id, not_found=ActivityNotFound)
        rows, _ = await activities.signups_page(session, activity.notice_id, None, None)
        return csv_response(
            f"activity-{activity.notice_id}-signups.csv",
            activities.CSV_HEADER,
            activities.csv_rows(rows),
        )
    rows, next_cursor = await activities.signups_page(session, activity.notice_id, limit, cursor)
    return Page(items=[SignupOut.model_validate(s) for s in rows], next_cursor=next_cursor)


@router.post("/activities/{activity_id}/check-ins", response_model=SignupOut, tags=["activities"])
async def check_in(
    activity: StaffActivity, body: CheckInIn, principal: CurrentPrincipal, session: SessionDep, now: Now
) -> SignupOut:
    """Staff check a confirmed sign-up in, by its code or from the list."""
    signup = await activities.check_in(
        session, activity, code=body.code, signup_id=body.signup_id, by=principal.account_id, now=now
    )
    return SignupOut.model_validate(signup)
