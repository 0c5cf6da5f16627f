"""The notices service's part of the home screen (`GET /me/home`, assembled by the gateway):
unread inbox counts, the latest pinned, emergency or unread notices, and upcoming activities."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from services.common.auth import CurrentPrincipal
from services.common.clock import Now
from services.common.db import SessionDep
from services.common.validation import CommunityQuery
from services.notices import activity_listing, feed, readstate, rules
from services.notices.journey_schemas import ActivityOut
from services.notices.models import Notice

internal = APIRouter(include_in_schema=False)

# How far down the feed the home screen looks for what it shows.
FEED_SCAN = 200
UPCOMING_ACTIVITIES = 5


class HomeNotice(BaseModel):
    id: str
    title: str
    excerpt: str
    category: str
    pinned: bool
    published_at: datetime | None
    expires_at: datetime | None
    read: bool


class NoticesHomePart(BaseModel):
    unread_inbox: int
    unread_by_kind: dict[str, int]
    notices: list[HomeNotice]
    upcoming_activities: list[ActivityOut]


def _brief(notice: Notice, read: bool) -> HomeNotice:
    return HomeNotice(
        id=notice.id,
        title=notice.title,
        excerpt=rules.excerpt(notice.body),
        category=notice.category,
        pinned=notice.pinned,
        published_at=notice.published_at,
        expires_at=notice.expires_at,
        read=read,
    )


@internal.get("/internal/home", response_model=NoticesHomePart)
async def internal_home(
    session: SessionDep,
    principal: CurrentPrincipal,
    now: Now,
    community_id: CommunityQuery,
) -> NoticesHomePart:
    items, _ = await feed.feed(session, principal.account_id, community_id, now, FEED_SCAN, None)
    by_kind = await readstate.unread_by_kind(session, principal.account_id)
    shown = [
        _brief(n, read) for n, read in items if rules.home_worthy(n.pinned, n.category, read)
    ][: rules.HOME_NOTICES]
    return NoticesHomePart(
        unread_inbox=sum(by_kind.values()),
        unread_by_kind=by_kind,
        notices=shown,
        upcoming_activities=[
            ActivityOut.model_validate(a)
            for a in await activity_listing.upcoming_activities(
                session, community_id, principal.account_id, UPCOMING_ACTIVITIES, now=now
            )
        ],
    )
