"""Every error the repairs service answers, each with its stable code and Chinese message.

`CommunityNotFound` (404 `community_not_found`, the one "you do not manage this community"
answer) and the photo errors (`unsupported_image`, `empty_file`, `image_too_big`,
`image_too_large`, services/common/images.py, which notices answer too) come from the shared
package and are re-exported here so this list is complete. The
shared package also answers, for every route: 400 `invalid_cursor` (pagination), 422
`validation_error` and the 401s (its handlers and token check).
"""

from __future__ import annotations

from services.common.auth import CommunityNotFound
from services.common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    UnprocessableEntity,
)
from services.common.images import BadImage, EmptyFile, ImageTooBig, ImageTooLarge
from services.repairs.labels import ACTION_LABELS, STATUS_LABELS

__all__ = [
    "ActionNotAllowed",
    "AlreadyClaimed",
    "AssigneeNotFound",
    "AssigneeOutsideDepartment",
    "AssigneeRequired",
    "BadImage",
    "CommunityNotFound",
    "CompletionPhotoRequired",
    "ConcurrentChange",
    "ContentRisky",
    "EmptyFile",
    "ImageTooBig",
    "ImageTooLarge",
    "InternalCommentNotAllowed",
    "InvalidStatusFilter",
    "InvalidTicket",
    "NaiveDatetime",
    "NotDeskOfCommunity",
    "NotInDepartment",
    "NotResidentOfCommunity",
    "PhoneRequired",
    "PhotoNotFound",
    "PhotoRequired",
    "PlaceAmbiguous",
    "PlaceRequired",
    "RatingRequired",
    "ReasonRequired",
    "ReporterNotOnRoom",
    "RoomNotFound",
    "RoomNotVerified",
    "TicketNotFound",
    "TransitionNotAllowed",
    "UnknownCategory",
    "UploadNotAllowed",
    "UploadNotFound",
    "UploadQuotaExceeded",
    "UrgeTooSoon",
]


# --- tickets and who may see them -------------------------------------------------------------


class TicketNotFound(NotFound):
    code = "ticket_not_found"
    message = "报修单不存在"


class NotResidentOfCommunity(CommunityNotFound):
    """A public-area report from someone who neither lives in nor works for the community."""

    message = "小区不存在或您未在该小区认证房屋"


class NotDeskOfCommunity(CommunityNotFound):
    """Community-wide views (statistics) for anyone but its managers and customer service."""

    message = "小区不存在或您无权查看"


class RoomNotVerified(Forbidden):
    code = "room_not_verified"
    message = "您尚未认证该房屋，无法为其报修"


# --- the state machine --------------------------------------------------------------------------


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"

    def __init__(self, status: str, action: str) -> None:
        super().__init__(
            f"报修单当前为「{STATUS_LABELS.get(status, status)}」，"
            f"不能执行「{ACTION_LABELS.get(action, action)}」",
            details={"status": status, "action": action},
        )


class ActionNotAllowed(Forbidden):
    code = "action_not_allowed"

    def __init__(self, action: str) -> None:
        super().__init__(
            f"您没有权限对该报修单执行「{ACTION_LABELS.get(action, action)}」",
            details={"action": action},
        )


class ConcurrentChange(Conflict):
    code = "concurrent_change"
    message = "报修单刚刚被他人更新，请刷新后重试"


class AlreadyClaimed(Conflict):
    """抢单: someone else was first (or the ticket left the pool)."""

    code = "already_claimed"
    message = "该报修单已被他人接单"


class NotInDepartment(Forbidden):
    code = "not_in_department"
    message = "该报修单不属于您所在的部门，无法接单"


class InternalCommentNotAllowed(Forbidden):
    code = "internal_comment_not_allowed"
    message = "仅物业工作人员可以发表内部备注"


class UrgeTooSoon(TooManyRequests):
    code = "urge_too_soon"
    message = "催单过于频繁，每 10 分钟只能催一次"


# --- input that parses but breaks a rule of the required format --------------------------------


class InvalidTicket(UnprocessableEntity):
    """Base of the 422s below: input that parses but breaks a rule of the required format."""

    code = "invalid_ticket"


class PlaceAmbiguous(InvalidTicket):
    code = "place_ambiguous"
    message = "请在“我的房屋”和“公共区域”中选择一项"


class PlaceRequired(InvalidTicket):
    code = "place_required"
    message = "请选择报修房屋或填写公共区域的具体位置"


class UnknownCategory(InvalidTicket):
    code = "unknown_category"
    message = "未知的报修类别"

    def __init__(self, allowed: list[str]) -> None:
        super().__init__(details={"allowed": allowed})


class PhoneRequired(InvalidTicket):
    code = "phone_required"
    message = "请填写联系电话，方便维修人员联系您"


class PhotoRequired(InvalidTicket):
    """A repair report without a picture of the problem."""

    code = "photo_required"
    message = "报修请至少上传一张现场照片（问题 + 地点 + 联系方式 + 图片）"


class CompletionPhotoRequired(PhotoRequired):
    """A crew resolving a ticket without a picture of the fix."""

    message = "请上传完工照片"


_REASON_MESSAGES: dict[str, str] = {
    "hold": "请填写暂停原因（如：等待配件）",
    "cancel": "物业取消报修须填写原因",
}


class ReasonRequired(InvalidTicket):
    code = "reason_required"

    def __init__(self, action: str) -> None:
        super().__init__(_REASON_MESSAGES.get(action, "请填写原因"))


class RatingRequired(InvalidTicket):
    code = "rating_required"
    message = "请为本次服务评分（1-5 星）"


class AssigneeRequired(InvalidTicket):
    code = "assignee_required"
    message = "请选择维修人员"


class ContentRisky(UnprocessableEntity):
    code = "content_risky"
    message = "内容含有违规信息，请修改后再提交"


class PhotoNotFound(UnprocessableEntity):
    code = "photo_not_found"
    message = "照片不存在或不属于您，请重新上传"


class AssigneeNotFound(UnprocessableEntity):
    code = "assignee_not_found"
    message = "指派的人员不是本小区的在职员工"


class AssigneeOutsideDepartment(UnprocessableEntity):
    code = "assignee_outside_department"
    message = "默认处理人员须属于该类别的负责部门"


class RoomNotFound(InvalidTicket):
    code = "room_not_found"
    message = "本小区没有这间房屋"


class ReporterNotOnRoom(InvalidTicket):
    """代客报修 naming a resident who is not verified on the room."""

    code = "reporter_not_on_room"
    message = "该住户未认证此房屋，无法代其报修"


class InvalidStatusFilter(UnprocessableEntity):
    code = "invalid_status_filter"

    def __init__(self, name: str) -> None:
        super().__init__(f"未知的状态「{name}」", details={"status": name})


class NaiveDatetime(BadRequest):
    code = "naive_datetime"
    message = "时间须带时区，例如 2026-11-01T00:00:00+08:00"


# --- photos -------------------------------------------------------------------------------------








class UploadNotAllowed(Forbidden):
    """No verified room and no staff role: nothing to report, so nothing to upload."""

    code = "upload_not_allowed"
    message = "认证房屋后才能上传图片"


class UploadQuotaExceeded(TooManyRequests):
    code = "upload_quota_exceeded"

    def __init__(self, per_day: int) -> None:
        super().__init__(
            f"24 小时内最多上传 {per_day} 张图片，请稍后再试", details={"per_day": per_day}
        )




class UploadNotFound(NotFound):
    code = "upload_not_found"
    message = "图片不存在"
