"""Identity's request and response models; the API's field names live here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.identity import rules
from services.identity.rules import (
    BindingStatus,
    Department,
    InvitedRelation,
    Relation,
    Role,
    RoomState,
)


def _phone(value: str) -> str:
    phone = rules.normalize_phone(value)
    if not rules.is_valid_phone(phone):
        raise ValueError("手机号须为 11 位数字")
    return phone


def _name(value: str) -> str:
    name = rules.normalize_name(value)
    if not name:
        raise ValueError("姓名不能为空")
    return name


Phone = Annotated[str, Field(min_length=1, max_length=20), AfterValidator(_phone)]
PersonName = Annotated[str, Field(min_length=1, max_length=50), AfterValidator(_name)]
Id = Annotated[str, Field(min_length=1, max_length=36)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommunityCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    city: str | None = Field(default=None, min_length=1, max_length=50)


class CommunityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    city: str | None = None
    created_at: datetime


class CommunityBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    city: str | None = None


# ---------------------------------------------------------------- auth


class WeChatLoginIn(Strict):
    code: str = Field(min_length=1, max_length=128)


class RefreshIn(Strict):
    refresh_token: str = Field(min_length=1, max_length=200)


class StaffLoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)
    # The Mini Program's `wx.login` code: links this WeChat to the staff account, so pushes
    # reach the person (a WeChat linked to another account: 409 `wechat_already_linked`).
    wx_code: str | None = Field(default=None, min_length=1, max_length=128)


class PasswordChangeIn(Strict):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


class PasswordResetOut(BaseModel):
    # Shown once, never stored in clear; the staff member's other sessions have ended.
    password: str


class PhoneCodeIn(Strict):
    code: str = Field(min_length=1, max_length=128)


class AccountBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str | None
    platform_admin: bool


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    account: AccountBrief


# ---------------------------------------------------------------- places and roster


class RoomNode(BaseModel):
    id: str
    room_no: str
    label: str
    area: str
    state: RoomState


class UnitNode(BaseModel):
    unit: str | None
    rooms: list[RoomNode]


class BuildingNode(BaseModel):
    id: str
    name: str
    room_count: int
    # Empty when the picker asked for buildings only (`rooms=false`).
    units: list[UnitNode]


class BuildingTree(BaseModel):
    community_id: str
    buildings: list[BuildingNode]


class RosterImportOut(BaseModel):
    rooms_created: int
    rooms_updated: int
    owners: int
    bindings_revoked: int
    bindings_verified: int


# ---------------------------------------------------------------- bindings


class BindingCreate(Strict):
    """`name` and `phone` may be left out when the account has a WeChat-verified phone: the
    phone is then that one and an owner's name the roster's."""

    room_id: Id
    relation: Relation
    name: PersonName | None = None
    phone: Phone | None = None


class RejectIn(Strict):
    reason: str = Field(min_length=1, max_length=200)


class InvitationCreate(Strict):
    relation: InvitedRelation


class InvitationOut(BaseModel):
    invite_code: str
    expires_at: datetime


class AcceptInvitationIn(Strict):
    invite_code: str = Field(min_length=4, max_length=32)
    name: PersonName
    phone: Phone


class HouseholdMember(BaseModel):
    id: str
    relation: str
    name: str
    phone: str | None
    status: str
    display_name: str


class BindingOut(BaseModel):
    id: str
    community_id: str
    room_id: str
    room_label: str
    relation: Relation
    status: BindingStatus
    reason: str | None
    name: str
    phone: str | None
    display_name: str
    parent_binding_id: str | None
    created_at: datetime
    decided_at: datetime | None
    household: list[HouseholdMember] | None = None


class AccountOut(BaseModel):
    id: str
    name: str | None
    phone: str | None
    username: str | None
    created_at: datetime


class StaffRole(BaseModel):
    community_id: str
    role: Role
    department: str | None


class ResidentRole(BaseModel):
    community_id: str
    room_id: str
    relation: Relation


class Roles(BaseModel):
    platform_admin: bool
    staff: list[StaffRole]
    residents: list[ResidentRole]


class MeOut(BaseModel):
    account: AccountOut
    display_name: str
    roles: Roles
    bindings: list[BindingOut]


# ---------------------------------------------------------------- staff

class StaffCreate(Strict):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str | None = Field(default=None, min_length=8, max_length=128)
    name: PersonName
    phone: Phone
    role: Role
    department: Department | None = None

    @model_validator(mode="after")
    def _crew_has_department(self) -> StaffCreate:
        if self.role == "crew" and self.department is None:
            raise ValueError("维修、保洁等一线员工须指定部门")
        return self


class StaffOut(BaseModel):
    id: str
    community_id: str
    account_id: str
    name: str
    phone: str | None
    role: Role
    department: str | None
    created_at: datetime


class StaffCreated(StaffOut):
    # Only when identity generated the password: shown once, never stored in clear.
    initial_password: str | None = None


class CleanupItem(BaseModel):
    binding_id: str
    account_id: str
    room_id: str
    room_label: str
    relation: str
    name: str
    phone: str | None
    status: str
    created_at: datetime


class CleanupAccount(BaseModel):
    account_id: str
    name: str
    requests: int


class CleanupStaff(BaseModel):
    staff_id: str
    account_id: str
    name: str
    role: str
    left_at: datetime


class CleanupReport(BaseModel):
    community_id: str
    pending_stale_days: int
    unmatched_bindings: list[CleanupItem]
    stale_pending: list[CleanupItem]
    accounts_without_verified_binding: list[CleanupAccount]
    staff_left: list[CleanupStaff]


# ---------------------------------------------------------------- QR scenes and the contact card


class SceneCreate(Strict):
    building_id: Id | None = None


class SceneOut(BaseModel):
    scene: str
    community_id: str
    building_id: str | None
    created_at: datetime


EmergencyLabel = Annotated[str, Field(min_length=1, max_length=30)]
ContactPhone = Annotated[str, Field(min_length=3, max_length=30, pattern=r"^[0-9+\-() ]+$")]


class EmergencyNumber(Strict):
    label: EmergencyLabel
    phone: ContactPhone


class ContactCardIn(Strict):
    service_phone: ContactPhone | None = None
    office_hours: str | None = Field(default=None, max_length=100)
    emergency_numbers: list[EmergencyNumber] = Field(default_factory=list, max_length=20)
    group_rules: str | None = Field(default=None, max_length=5000)


class PublicContact(BaseModel):
    """What anyone who scanned the community's QR code may see: the numbers on the notice board."""

    service_phone: str | None
    office_hours: str | None
    emergency_numbers: list[EmergencyNumber]


class ContactCardOut(PublicContact):
    community_id: str
    group_rules: str | None
    updated_at: datetime


class BuildingRef(BaseModel):
    id: str
    name: str


class SceneLanding(BaseModel):
    """Where a scanned QR code lands (no login needed)."""

    community: CommunityBrief
    building: BuildingRef | None
    contact: PublicContact | None
