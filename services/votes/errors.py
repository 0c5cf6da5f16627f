"""The votes service's domain errors (Chinese messages, stable codes)."""

from __future__ import annotations

from services.common.errors import BadRequest, Conflict, Forbidden, NotFound, UnprocessableEntity


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


class ResultsNotAvailable(Conflict):
    code = "results_not_available"
    message = "投票结束后才能查看结果"


class InvalidCursor(BadRequest):
    code = "invalid_cursor"
    message = "分页游标无效"


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


class InvalidBallot(UnprocessableEntity):
    code = "invalid_ballot"
    message = "选票内容不正确"
