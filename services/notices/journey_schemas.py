"""Request and response bodies of the managers' journeys in notices: resend to the unread,
the care list, activities with sign-up."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.common.phones import valid_phone
from services.common.validation import UtcDatetime
from services.notices.journey_rules import CareCategory


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResendOut(BaseModel):
    notice_id: str
    households: int
    accounts: int
    resent_at: datetime
    next_allowed_at: datetime


# --- the care list ----------------------------------------------------------------------------


class CareHouseholdIn(_In):
    categories: list[CareCategory] = Field(min_length=1, max_length=3)
    note: Annotated[str, Field(max_length=200)] = ""
    contact_name: Annotated[str, Field(min_length=1, max_length=50)]
    contact_phone: Annotated[str, Field(min_length=5, max_length=20)]

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if not valid_phone(value):
            raise ValueError("联系人电话格式不正确")
        return value


class CareHouseholdOut(BaseModel):
    """A household on the care list; the contact's phone masked (see the reveal)."""

    room_id: str
    label: str
    building_name: str
    categories: list[str]
    note: str
    contact_name: str
    contact_phone_masked: str


class RevealIn(_In):
    reason: Annotated[str, Field(max_length=200, description="为何需要完整电话（必填）")] = ""


class RevealOut(BaseModel):
    room_id: str
    contact_name: str
    contact_phone: str
    reveal_id: str
    revealed_at: datetime


class RevealRecordOut(BaseModel):
    id: str
    room_id: str
    room_label: str
    revealed_by: str
    revealed_by_name: str
    reason: str
    revealed_at: datetime


# --- activities ---------------------------------------------------------------------------------


class ActivityCreate(_In):
    notice_id: Annotated[str, Field(min_length=1, max_length=36)]
    location: Annotated[str, Field(min_length=1, max_length=100)]
    starts_at: UtcDatetime
    signup_deadline: UtcDatetime
    capacity: Annotated[int, Field(ge=1, le=100_000)]
    per_household_limit: Annotated[int, Field(ge=1, le=100)] = 1


class MySignup(BaseModel):
    id: str
    room_id: str
    people: int
    status: str
    code: str
    checked_in: bool


class ActivityOut(BaseModel):
    id: str
    community_id: str
    title: str
    body: str
    location: str
    starts_at: datetime
    signup_deadline: datetime
    capacity: int
    per_household_limit: int
    confirmed_people: int
    waitlisted_people: int
    places_left: int
    my_signup: MySignup | None = None


class SignupIn(_In):
    room_id: Annotated[str, Field(min_length=1, max_length=36)]
    people: Annotated[int, Field(ge=1, le=100)] = 1


class SignupOut(BaseModel):
    id: str
    activity_id: str
    room_id: str
    room_label: str
    name: str
    people: int
    status: str
    code: str
    created_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    checked_in_at: datetime | None

    model_config = ConfigDict(from_attributes=True)


class CancelOut(BaseModel):
    signup: SignupOut
    moved_up: int


class CheckInIn(_In):
    """By the code the member shows, or by picking the sign-up from the list."""

    code: Annotated[str, Field(min_length=1, max_length=12)] | None = None
    signup_id: Annotated[str, Field(min_length=1, max_length=36)] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> CheckInIn:
        if (self.code is None) == (self.signup_id is None):
            raise ValueError("请提供签到码或报名记录之一")
        return self
