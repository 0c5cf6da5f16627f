"""Request and response bodies of the notices API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.validation import UtcDatetime

Category = Literal["announcement", "emergency", "maintenance", "activity", "rules"]
Relation = Literal["owner", "family", "tenant"]


class UnitRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    building_id: str = Field(min_length=1, max_length=36)
    unit: str | None = Field(default=None, max_length=50)


class Audience(BaseModel):
    """Who a notice is for: the whole community, listed buildings or units; `roles` narrows
    to owners, family members or tenants (kind `roles`: the whole community, those roles)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["community", "buildings", "units", "roles"] = "community"
    building_ids: list[str] = Field(default_factory=list, max_length=500)
    units: list[UnitRef] = Field(default_factory=list, max_length=2000)
    roles: list[Relation] | None = None


class NoticeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    community_id: str = Field(min_length=1, max_length=36)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=100_000)
    category: Category
    audience: Audience = Field(default_factory=Audience)
    pinned: bool = False
    publish_at: UtcDatetime | None = None
    expires_at: UtcDatetime | None = None


class AttachmentOut(BaseModel):
    id: str
    kind: Literal["image", "pdf"]
    content_type: str
    size: int
    width: int | None
    height: int | None
    name: str
    url: str


class NoticeOut(BaseModel):
    id: str
    community_id: str
    author_id: str
    title: str
    body: str
    category: str
    audience: dict[str, Any]
    pinned: bool
    status: str
    publish_at: datetime | None
    expires_at: datetime | None
    approved_by: str | None
    published_at: datetime | None
    withdrawn_at: datetime | None
    created_at: datetime
    read: bool | None = None
    # Pictures and PDF files, in upload order (on the one-notice answer).
    attachments: list[AttachmentOut] = Field(default_factory=list)

    model_config = ConfigDict(from_attributes=True)


class BuildingReach(BaseModel):
    building_id: str
    building_name: str
    targeted: int
    read: int


class OwnerContact(BaseModel):
    name: str
    phone_masked: str | None


class UnreadHousehold(BaseModel):
    room_id: str
    label: str
    building_id: str
    building_name: str
    owners: list[OwnerContact]
    # On the care list (关注特殊人群): elderly | living_alone | disability; listed first.
    care_categories: list[str] = Field(default_factory=list)


class Receipts(BaseModel):
    """Reach in households (rooms in the audience with ≥ 1 verified member)."""

    notice_id: str
    targeted: int
    read: int
    by_building: list[BuildingReach]
    # Only for emergencies: whom to call.
    unread: list[UnreadHousehold]


class InboxEntryOut(BaseModel):
    id: str
    community_id: str
    kind: str
    title: str
    text: str
    link: str
    created_at: datetime
    read: bool
    # How many causes the entry stands for (e.g. pending bindings counted into one entry).
    count: int = 1

    @classmethod
    def of(cls, entry: Any) -> InboxEntryOut:
        return cls(
            id=entry.id,
            community_id=entry.community_id,
            kind=entry.kind,
            title=entry.title,
            text=entry.text,
            link=entry.link,
            created_at=entry.created_at,
            read=entry.read_at is not None,
            count=entry.count,
        )


class InboxPage(BaseModel):
    items: list[InboxEntryOut]
    next_cursor: str | None = None
    unread_count: int


class UnreadCount(BaseModel):
    unread_count: int
    # Unread entries per kind (notice_<category>, repair_*, vote_*, binding_*); absent kinds: 0.
    by_kind: dict[str, int] = Field(default_factory=dict)


class ReadAllOut(UnreadCount):
    marked: int


class Template(BaseModel):
    template_id: str
    purpose: str


class Subscriptions(BaseModel):
    templates: list[Template]
    consents: dict[str, int]


class SubscriptionsGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_ids: list[str] = Field(min_length=1, max_length=20)


class CommunityNoticeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    single_manager: bool
