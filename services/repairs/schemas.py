"""Request and response models of the repairs API; the API's field names live here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.repairs.rules import AssignMode, Department, Status, UserAction, valid_phone

Kind = Literal["repair", "complaint", "suggestion"]
StatusName = Status
MAX_PHOTOS = 9
Text = Annotated[str, StringConstraints(strip_whitespace=True)]


def _photo_ids(value: list[str]) -> list[str]:
    if len(value) > MAX_PHOTOS:
        raise ValueError(f"最多上传 {MAX_PHOTOS} 张照片")
    if len(set(value)) != len(value):
        raise ValueError("照片重复")
    return value


PhotoIds = Annotated[list[Annotated[str, StringConstraints(max_length=36)]], AfterValidator(_photo_ids)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketCreate(_In):
    community_id: str = Field(min_length=1, max_length=36)
    kind: Kind = "repair"
    category: str = Field(min_length=1, max_length=40)
    room_id: str | None = Field(default=None, max_length=36)
    location: Text | None = Field(default=None, max_length=100)
    description: Text = Field(max_length=1000)
    # Absent: the phone of the reporter's previous ticket (identity shares no phone numbers).
    contact_phone: Text | None = Field(default=None, max_length=20)
    photo_ids: PhotoIds = Field(default_factory=list)
    urgent: bool = False
    # 代客报修: desk staff filing for a room on a resident's behalf (phone-in, elderly); no
    # photo needed, the contact phone is. `reporter_id`: the resident, verified on the room,
    # who then owns the ticket (else the staff member who filed it).
    on_behalf: bool = False
    reporter_id: str | None = Field(default=None, max_length=36)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        if len(value) < 2:
            raise ValueError("请描述遇到的问题（2-1000 字）")
        return value

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not valid_phone(value):
            raise ValueError("请填写正确的联系电话（手机号或带区号的座机）")
        return value


class TransitionIn(_In):
    action: UserAction
    note: Text | None = Field(default=None, max_length=500)
    assignee_id: str | None = Field(default=None, max_length=36)
    photo_ids: PhotoIds = Field(default_factory=list)
    rating: int | None = None
    comment: Text | None = Field(default=None, max_length=500)
    # The version the client saw; when given, a stale one is refused with 409.
    version: int | None = None

    @field_validator("rating")
    @classmethod
    def _rating(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 5:
            raise ValueError("评分须为 1-5 星")
        return value


class PhotoOut(BaseModel):
    id: str
    url: str


class UploadOut(PhotoOut):
    content_type: str
    width: int
    height: int
    size: int


class TimelineOut(BaseModel):
    seq: int
    action: str
    actor_id: str | None
    actor_name: str | None
    actor_role: str
    from_status: str | None
    to_status: str
    note: str | None
    photos: list[PhotoOut]
    created_at: datetime


class TicketOut(BaseModel):
    id: str
    community_id: str
    reporter_id: str
    kind: str
    category: str
    department: str | None
    room_id: str | None
    place: str
    location: str | None
    description: str
    contact_phone: str
    photos: list[PhotoOut]
    urgent: bool
    status: str
    status_label: str
    assignee_id: str | None
    assignee_name: str | None
    content_flagged: bool
    needs_reassignment: bool
    reopen_count: int
    rating: int | None
    rating_comment: str | None
    overdue: bool
    source: str
    filed_by: str | None
    pooled: bool
    # The earliest deadline still running, and per clock whether it ran out (recorded, or
    # past due since the scheduler's last sweep).
    next_due_at: datetime
    breaches: dict[str, bool]
    acknowledge_due_at: datetime
    arrive_due_at: datetime
    resolve_due_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int
    # What the caller may do now (the Mini Program shows these buttons).
    allowed_actions: list[str] = []


class DuplicateOut(BaseModel):
    """An open ticket that may be the same problem; no one's description or phone is shown."""

    id: str
    category: str
    place: str
    status: str
    status_label: str
    created_at: datetime


class TicketDetail(TicketOut):
    timeline: list[TimelineOut]


class TicketCreated(TicketDetail):
    possible_duplicates: list[DuplicateOut]


class CategoryConfig(_In):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    name: Text = Field(min_length=1, max_length=20)
    department: Department
    arrive_minutes: int | None = Field(default=None, ge=1, le=30 * 24 * 60)
    resolve_minutes: int | None = Field(default=None, ge=1, le=90 * 24 * 60)


class RepairsConfig(_In):
    categories: list[CategoryConfig] = Field(min_length=1, max_length=50)

    @field_validator("categories")
    @classmethod
    def _unique(cls, value: list[CategoryConfig]) -> list[CategoryConfig]:
        if len({c.key for c in value}) != len(value):
            raise ValueError("类别编码重复")
        return value


class Percentiles(BaseModel):
    count: int
    median_seconds: int | None
    p90_seconds: int | None


class StatsOut(BaseModel):
    community_id: str
    from_: datetime | None = Field(serialization_alias="from")
    to: datetime | None
    total: int
    by_status: dict[str, int]
    by_category: dict[str, int]
    time_to_accept: Percentiles
    time_to_resolve: Percentiles
    overdue_share: float | None
    satisfaction_average: float | None
    rated: int
    reopen_rate: float | None


class AssignmentRuleIO(_In):
    category: str = Field(min_length=1, max_length=40)
    mode: AssignMode
    assignee_id: str | None = Field(default=None, max_length=36)
    assignee_name: str | None = Field(default=None, description="ignored on input")

    @field_validator("assignee_id")
    @classmethod
    def _assignee(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _crew_named(self) -> AssignmentRuleIO:
        if self.mode == "crew" and not self.assignee_id:
            raise ValueError("默认派单到人员时须选择维修人员")
        if self.mode == "pool":
            self.assignee_id = None
        return self


class AssignmentRules(_In):
    rules: list[AssignmentRuleIO] = Field(max_length=50)

    @field_validator("rules")
    @classmethod
    def _unique(cls, value: list[AssignmentRuleIO]) -> list[AssignmentRuleIO]:
        if len({r.category for r in value}) != len(value):
            raise ValueError("类别重复")
        return value


class CommentIn(_In):
    text: Text = Field(min_length=1, max_length=1000)
    internal: bool = False
    photo_ids: PhotoIds = Field(default_factory=list)


class CommentOut(BaseModel):
    id: str
    ticket_id: str
    author_id: str | None
    author_name: str | None
    author_side: str
    internal: bool
    text: str
    photos: list[PhotoOut]
    content_flagged: bool
    created_at: datetime


class StaffWorkload(BaseModel):
    account_id: str
    name: str
    role: str
    department: str | None
    open_tickets: int
    by_status: dict[str, int]


class CrewFigures(BaseModel):
    assigned: int
    handled: int
    time_to_acknowledge: Percentiles
    time_to_arrive: Percentiles
    time_to_complete: Percentiles
    breaches: dict[str, int]
    rated: int
    rating_average: float | None


class CrewMemberStats(CrewFigures):
    account_id: str
    name: str | None
    department: str | None


class DepartmentStats(CrewFigures):
    department: str


class CrewStatsOut(BaseModel):
    community_id: str
    from_: datetime | None = Field(serialization_alias="from")
    to: datetime | None
    crew: list[CrewMemberStats]
    departments: list[DepartmentStats]
