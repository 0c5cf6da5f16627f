"""The repairs service's domain errors (Chinese messages, stable codes)."""

from __future__ import annotations

from services.common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    UnprocessableEntity,
)
from services.repairs.labels import ACTION_LABELS, STATUS_LABELS


class TicketNotFound(NotFound):
    code = "ticket_not_found"
    message = "报修单不存在"


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"

    def __init__(self, status: str, action: str) -> None:
        super().__init__(
            f"报修单当前为「{STATUS_LABELS.get(status, status)}」，不能执行「{ACTION_LABELS.get(action, action)}」",
            details={"status": status, "action": action},
        )


class ActionNotAllowed(Forbidden):
    code = "action_not_allowed"

    def __init__(self, action: str) -> None:
        super().__init__(
            f"您没有权限对该报修单执行「{ACTION_LABELS.get(action, action)}」", details={"action": action}
        )


class ConcurrentChange(Conflict):
    code = "concurrent_change"
    message = "报修单刚刚被他人更新，请刷新后重试"


class UrgeTooSoon(TooManyRequests):
    code = "urge_too_soon"
    message = "催单过于频繁，每 10 分钟只能催一次"


class InvalidTicket(UnprocessableEntity):
    """Input that parses but breaks a rule of the required format."""

    code = "invalid_ticket"


class ContentRisky(UnprocessableEntity):
    code = "content_risky"
    message = "内容含有违规信息，请修改后再提交"


class RoomNotVerified(Forbidden):
    code = "room_not_verified"
    message = "您尚未认证该房屋，无法为其报修"


class CommunityNotFound(NotFound):
    code = "community_not_found"
    message = "小区不存在或您未在该小区认证房屋"


class PhotoNotFound(UnprocessableEntity):
    code = "photo_not_found"
    message = "照片不存在或不属于您，请重新上传"


class AssigneeNotFound(UnprocessableEntity):
    code = "assignee_not_found"
    message = "指派的人员不是本小区的在职员工"


class BadImage(BadRequest):
    code = "unsupported_image"
    message = "仅支持 JPEG、PNG、WebP、HEIC 格式的图片"


class UploadNotFound(NotFound):
    code = "upload_not_found"
    message = "图片不存在"
