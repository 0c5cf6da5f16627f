"""Request and response models of the votes API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.validation import UtcDatetime
from services.votes import rules

Title = Annotated[str, Field(min_length=1, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MotionIn(_In):
    title: Annotated[str, Field(min_length=1, max_length=500)]
    matter: Literal["ordinary", "major"] = "ordinary"


class QuestionIn(_In):
    title: Annotated[str, Field(min_length=1, max_length=500)]
    type: Literal["single", "multiple", "text"]
    options: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=50)
    max_choices: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _options_fit_type(self) -> QuestionIn:
        if self.type == "text":
            if self.options or self.max_choices is not None:
                raise ValueError("填空题不能设置选项")
        else:
            if len(self.options) < 2:
                raise ValueError("选择题至少需要两个选项")
            if len(set(self.options)) != len(self.options):
                raise ValueError("选项不能重复")
            if self.type == "single" and self.max_choices not in (None, 1):
                raise ValueError("单选题只能选择一项")
            if self.type == "multiple" and self.max_choices is not None and self.max_choices > len(self.options):
                raise ValueError("最多可选项数不能超过选项数")
        return self


class Scope(_In):
    """`building_ids` null or absent: the whole community."""

    building_ids: list[Annotated[str, Field(min_length=1, max_length=36)]] | None = Field(
        default=None, min_length=1, max_length=500
    )


class VoteCreate(_In):
    community_id: Annotated[str, Field(min_length=1, max_length=36)]
    kind: Literal["vote", "survey"]
    title: Title
    description: Annotated[str, Field(max_length=10000)] = ""
    scope: Scope = Field(default_factory=Scope)
    motions: list[MotionIn] | None = Field(default=None, max_length=50)
    questions: list[QuestionIn] | None = Field(default=None, max_length=100)
    opens_at: UtcDatetime | None = None
    closes_at: UtcDatetime
    allow_change: bool = False
    anonymous: bool = False
    live_results: bool = False

    @model_validator(mode="after")
    def _items_fit_kind(self) -> VoteCreate:
        problem = rules.vote_problem(
            self.kind,
            bool(self.motions),
            bool(self.questions),
            anonymous=self.anonymous,
            allow_change=self.allow_change,
            opens_at=self.opens_at,
            closes_at=self.closes_at,
        )
        if problem is not None:
            raise ValueError(problem)
        return self


class VoteUpdate(_In):
    """Changes to a draft; absent fields stay as they are."""

    title: Title | None = None
    description: Annotated[str, Field(max_length=10000)] | None = None
    scope: Scope | None = None
    motions: list[MotionIn] | None = Field(default=None, min_length=1, max_length=50)
    questions: list[QuestionIn] | None = Field(default=None, min_length=1, max_length=100)
    opens_at: UtcDatetime | None = None
    closes_at: UtcDatetime | None = None
    allow_change: bool | None = None
    anonymous: bool | None = None
    live_results: bool | None = None


class OptionOut(BaseModel):
    id: str
    label: str


class ItemOut(BaseModel):
    id: str
    kind: str
    title: str
    matter: str | None = None
    max_choices: int | None = None
    options: list[OptionOut]


class BallotStatus(BaseModel):
    ballot_id: str | None = None
    cast_at: datetime
    cast_by_me: bool


class EligibleRoom(BaseModel):
    room_id: str
    label: str
    area: str
    can_vote: bool
    ballot: BallotStatus | None = None


class VoteOut(BaseModel):
    id: str
    community_id: str
    kind: str
    title: str
    description: str
    building_ids: list[str] | None
    opens_at: datetime | None
    closes_at: datetime
    allow_change: bool
    anonymous: bool
    live_results: bool
    status: str
    created_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None
    items: list[ItemOut]


class VoteDetail(VoteOut):
    electorate_rooms: int | None = None
    ballots_cast: int | None = None
    my_rooms: list[EligibleRoom] = Field(default_factory=list)


class MyRoomStatus(BaseModel):
    room_id: str
    label: str
    my_status: Literal["not_voted", "voted", "not_eligible"]


class VoteSummary(BaseModel):
    id: str
    community_id: str
    kind: str
    title: str
    status: str
    opens_at: datetime | None
    closes_at: datetime
    created_at: datetime
    # The caller's badge: not_voted while one of their rooms waits for their ballot.
    my_status: Literal["not_voted", "voted", "not_eligible"] = "not_eligible"
    my_rooms: list[MyRoomStatus] = Field(default_factory=list)


class AnswerIn(_In):
    item_id: Annotated[str, Field(min_length=1, max_length=36)]
    option_ids: list[Annotated[str, Field(min_length=1, max_length=36)]] | None = Field(default=None, max_length=50)
    text: Annotated[str, Field(max_length=2000)] | None = None


class BallotIn(_In):
    room_id: Annotated[str, Field(min_length=1, max_length=36)]
    answers: list[AnswerIn] = Field(max_length=200)


class BatchBallotIn(_In):
    """The same answers for several rooms; `room_ids` left out: every room of the caller's
    in the electorate."""

    room_ids: list[Annotated[str, Field(min_length=1, max_length=36)]] | None = Field(
        default=None, min_length=1, max_length=200
    )
    answers: list[AnswerIn] = Field(max_length=200)


class RoomBallotOutcome(BaseModel):
    room_id: str
    outcome: Literal["cast", "replaced", "unchanged", "already_voted", "not_eligible"]
    ballot_id: str | None


class BatchBallotOut(BaseModel):
    rooms: list[RoomBallotOutcome]
    # Rooms whose ballot now stands with these answers (cast, replaced or unchanged).
    counted: int


class BallotOut(BaseModel):
    ballot_id: str
    room_id: str
    cast_at: datetime
    replaced_previous: bool


class ResultsOut(BaseModel):
    vote_id: str
    kind: str
    status: str
    final: bool
    electorate_rooms: int
    ballots: int
    # Standing ballots by source: {"online": n, "paper": n, "proxy": n}.
    ballots_by_source: dict[str, int] = Field(default_factory=dict)
    settings: dict[str, Any]
    motions: list[dict[str, Any]] = Field(default_factory=list)
    questions: list[dict[str, Any]] = Field(default_factory=list)


class RoomResult(BaseModel):
    """A room in the published results: its label and area, never a name."""

    room_id: str
    label: str
    area: str
    voted: bool
    # online | paper | proxy: how the room's ballot came (null: not voted).
    source: str | None = None
    answers: dict[str, str] = Field(default_factory=dict)


class CommunitySettings(_In):
    multi_room_headcount: Literal["unanimous", "area_majority", "proportional"] = "unanimous"
    non_voters_follow_majority: bool = False


# --- turnout tools (turnout_routes.py) -------------------------------------------------------


class OwnerContactOut(BaseModel):
    """A roster owner of a room as managers see them: the phone masked."""

    name: str
    phone_masked: str | None = None


class NonVoterOut(BaseModel):
    room_id: str
    label: str
    building_id: str
    building_name: str
    area: str
    owners: list[OwnerContactOut] = Field(default_factory=list)


class ReminderOut(BaseModel):
    vote_id: str
    rooms: int
    reminded_at: datetime
    next_allowed_at: datetime


class PaperBallotIn(_In):
    """A signed paper ballot (the owner's own, or a proxy's) that staff enter for a room."""

    room_id: Annotated[str, Field(min_length=1, max_length=36)]
    source: Literal["paper", "proxy"] = "paper"
    answers: list[AnswerIn] = Field(max_length=200)
    signer: Annotated[str, Field(min_length=1, max_length=50, description="在纸质选票上签名的人")]
    photo_id: Annotated[
        str, Field(min_length=1, max_length=64, description="纸质选票照片（POST /uploads 返回的 id）")
    ]


class PaperBallotOut(BaseModel):
    ballot_id: str
    room_id: str
    source: str
    signer: str
    photo_id: str
    entered_by: str
    cast_at: datetime
