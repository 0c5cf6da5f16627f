"""Every error the votes service answers, each with its stable code and Chinese message.

Shared plumbing answers a few more for this service: 404 `community_not_found` (re-exported
here from `services.common.auth`), 400 `invalid_cursor` (`services.common.pagination`), 422
`validation_error` for a request that does not fit its schema, and 401 for a missing or bad
token.
"""

from __future__ import annotations

from datetime import datetime

from services.common.auth import CommunityNotFound
from services.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    UnprocessableEntity,
)

__all__ = [
    "AlreadyVoted",
    "BallotConflict",
    "ClosingTimePassed",
    "CommunityNotFound",
    "DuplicateAnswer",
    "DuplicateOption",
    "EmptyElectorate",
    "InvalidBallot",
    "InvalidVote",
    "MissingAnswer",
    "MissingChoice",
    "NoRoomResults",
    "NotRoomOwner",
    "OptionExpected",
    "ResultsNotAvailable",
    "ReminderTooSoon",
    "RoomAlreadyVoted",
    "RoomNotInElectorate",
    "SingleChoice",
    "TextExpected",
    "TextTooLong",
    "TooManyChoices",
    "UnknownBuilding",
    "UnknownItem",
    "UnknownOption",
    "VoteNotClosable",
    "VoteNotEditable",
    "VoteNotFound",
    "VoteNotOpen",
    "VoteNotOpenable",
]


class VoteNotFound(NotFound):
    code = "vote_not_found"
    message = "投票不存在"


class VoteNotEditable(Conflict):
    code = "vote_not_editable"
    message = "投票已发布，不能再修改"


class VoteNotOpenable(Conflict):
    code = "vote_not_openable"
    message = "投票当前状态不能开启"


class VoteNotClosable(Conflict):
    code = "vote_not_closable"
    message = "投票未在进行中，不能结束"


class VoteNotOpen(Conflict):
    code = "vote_not_open"
    message = "投票尚未开始或已经结束，不能投票"


class AlreadyVoted(Conflict):
    code = "already_voted"
    message = "该房屋已经投过票"


class RoomAlreadyVoted(Conflict):
    """A paper or proxy ballot for a room that has a standing ballot (online or paper)."""

    code = "room_already_voted"
    message = "该房屋已经投票（线上或纸质），不能再录入纸质选票"


class ReminderTooSoon(TooManyRequests):
    code = "reminder_too_soon"

    def __init__(self, next_allowed_at: datetime) -> None:
        super().__init__(
            "该投票刚刚提醒过未投票业主，请稍后再发送",
            details={"next_allowed_at": next_allowed_at.isoformat()},
        )


class BallotConflict(Conflict):
    """Two changed ballots for one room raced; the other one won."""

    code = "ballot_conflict"
    message = "该房屋的选票正在被修改，请刷新后重试"


class ResultsNotAvailable(Conflict):
    code = "results_not_available"
    message = "投票结束后才能查看结果"


class NoRoomResults(Conflict):
    code = "no_room_results"
    message = "问卷不公布逐户结果"


class EmptyElectorate(Conflict):
    code = "empty_electorate"
    message = "投票范围内没有房屋，不能开启"


class ClosingTimePassed(UnprocessableEntity):
    code = "closes_at_passed"
    message = "截止时间已过，请修改截止时间"


class InvalidVote(UnprocessableEntity):
    code = "invalid_vote"
    message = "投票内容不正确"


class UnknownBuilding(UnprocessableEntity):
    code = "unknown_building"
    message = "投票范围包含不存在的楼栋"


class RoomNotInElectorate(UnprocessableEntity):
    code = "room_not_in_electorate"
    message = "该房屋不在本次投票范围内"


class NotRoomOwner(Forbidden):
    code = "not_room_owner"
    message = "只有经过认证的业主本人才能为该房屋投票"


# --- what is wrong with a ballot (`rules.check_ballot` returns one of these) -----------------


class InvalidBallot(UnprocessableEntity):
    """The base of the ballot problems below; always answered as one of them."""

    code = "invalid_ballot"
    message = "选票内容不正确"


class UnknownItem(InvalidBallot):
    code = "unknown_item"
    message = "答卷包含不存在的题目或议题"


class DuplicateAnswer(InvalidBallot):
    code = "duplicate_answer"
    message = "同一题目只能作答一次"


class TextExpected(InvalidBallot):
    code = "text_expected"
    message = "填空题请填写文字回答"


class TextTooLong(InvalidBallot):
    code = "text_too_long"
    message = "文字回答过长"


class OptionExpected(InvalidBallot):
    code = "option_expected"
    message = "该题目请选择选项"


class UnknownOption(InvalidBallot):
    code = "unknown_option"
    message = "选项不存在"


class DuplicateOption(InvalidBallot):
    code = "duplicate_option"
    message = "同一选项不能重复选择"


class MissingChoice(InvalidBallot):
    code = "missing_choice"
    message = "请选择一个选项"


class SingleChoice(InvalidBallot):
    code = "single_choice"
    message = "该题目只能选择一个选项"


class TooManyChoices(InvalidBallot):
    code = "too_many_choices"

    def __init__(self, item_id: str, max_choices: int | None) -> None:
        super().__init__(
            f"该题目最多选择 {max_choices} 项",
            details={"item_id": item_id, "max_choices": max_choices},
        )


class MissingAnswer(InvalidBallot):
    code = "missing_answer"
    message = "每个议题和选择题都必须作答"
