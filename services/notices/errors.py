"""Every error the notices service answers, each with its stable code and Chinese message.

Besides these, the shared plumbing answers `validation_error` (422), `unauthorized` (401),
`body_unparsable` (400) and the like for every service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.auth import CommunityNotFound
from services.common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidCursor,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    UnprocessableEntity,
)

__all__ = [
    "ActivityExists",
    "ActivityNotFound",
    "AlreadyCheckedIn",
    "AlreadySignedUp",
    "AttachmentNotFound",
    "AttachmentsLocked",
    "AudienceEmpty",
    "BodyTooLong",
    "CareHouseholdNotFound",
    "CareRoomNotFound",
    "CommunityNotFound",
    "ExpiryBeforePublish",
    "ExpiryInPast",
    "ExpiryRequired",
    "HouseholdLimitExceeded",
    "InboxEntryNotFound",
    "InvalidActivity",
    "InvalidCursor",
    "InvalidNotice",
    "MarkupNotAllowed",
    "NotActivityNotice",
    "NoticeEmpty",
    "NoticeExpired",
    "NoticeNotFound",
    "NoticeNotResendable",
    "NoticeTransitionNotAllowed",
    "PdfActiveContent",
    "PdfTooLarge",
    "ResendTooSoon",
    "RevealReasonRequired",
    "RoomNotYours",
    "SelfApprovalNotAllowed",
    "SignupClosed",
    "SignupNotConfirmed",
    "SignupNotFound",
    "SingleManagerModeAdminOnly",
    "TitleTooLong",
    "TooManyAttachments",
    "UnknownBuildings",
    "UnknownTemplate",
    "UnknownUnits",
    "UnsupportedAttachment",
    "WithdrawnNoticeCannotPublish",
]

_ACTION_NAMES = {"submit": "提交审核", "approve": "审核通过", "publish": "发布", "withdraw": "撤回"}
_STATUS_NAMES = {
    "draft": "草稿",
    "submitted": "待审核",
    "approved": "已审核",
    "scheduled": "待定时发布",
    "published": "已发布",
    "withdrawn": "已撤回",
    "expired": "已过期",
}



class NoticeNotFound(NotFound):
    code = "notice_not_found"
    message = "公告不存在"


class InboxEntryNotFound(NotFound):
    code = "inbox_entry_not_found"
    message = "消息不存在"


class NoticeTransitionNotAllowed(Conflict):
    code = "notice_transition_not_allowed"

    def __init__(self, status: str, action: str) -> None:
        super().__init__(
            f"{_STATUS_NAMES.get(status, status)}状态的公告不能{_ACTION_NAMES.get(action, action)}",
            details={"status": status, "action": action},
        )


class WithdrawnNoticeCannotPublish(Conflict):
    code = "notice_withdrawn"
    message = "已撤回的公告不能再次发布"


class SelfApprovalNotAllowed(Forbidden):
    code = "self_approval_not_allowed"
    message = "不能审核自己撰写的公告，请由其他管理员审核"


class SingleManagerModeAdminOnly(Forbidden):
    """Single-manager mode lifts the two-person rule that binds a community's managers, so
    they may not set it themselves: only a platform admin may."""

    code = "single_manager_admin_only"
    message = "单管理员模式只能由平台管理员设置"


class UnknownTemplate(UnprocessableEntity):
    code = "unknown_template"
    message = "订阅消息模板不存在"


# --- a notice that breaks a drafting rule (rules.notice_problem) -------------------------


class InvalidNotice(UnprocessableEntity):
    """The base of the drafting problems below; never answered with its own code."""

    code = "invalid_notice"


class NoticeEmpty(InvalidNotice):
    code = "notice_empty"
    message = "标题和正文不能为空"


class TitleTooLong(InvalidNotice):
    code = "title_too_long"

    def __init__(self, limit: int) -> None:
        super().__init__(f"标题不能超过 {limit} 个字")


class BodyTooLong(InvalidNotice):
    code = "body_too_long"

    def __init__(self, limit: int) -> None:
        super().__init__(f"正文不能超过 {limit} 个字")


class MarkupNotAllowed(InvalidNotice):
    code = "markup_not_allowed"
    message = "公告只支持纯文本，不能包含 HTML 标签或脚本"


class ExpiryRequired(InvalidNotice):
    code = "expiry_required"
    message = "紧急通知必须设置失效时间"


class ExpiryInPast(InvalidNotice):
    code = "expiry_in_past"
    message = "失效时间必须晚于当前时间"


class ExpiryBeforePublish(InvalidNotice):
    code = "expiry_before_publish"
    message = "失效时间必须晚于发布时间"


_EMPTY_AUDIENCE_MESSAGES = {
    "buildings": "请选择至少一栋楼",
    "units": "请选择至少一个单元",
    "roles": "请选择发布对象（业主、家属或租户）",
}


class AudienceEmpty(InvalidNotice):
    code = "audience_empty"

    def __init__(self, kind: str) -> None:
        super().__init__(_EMPTY_AUDIENCE_MESSAGES[kind])



class UnknownBuildings(InvalidNotice):
    code = "unknown_buildings"
    message = "发布范围中有本小区不存在的楼栋"

    def __init__(self, building_ids: list[str]) -> None:
        super().__init__(details={"building_ids": building_ids})


class UnknownUnits(InvalidNotice):
    code = "unknown_units"
    message = "发布范围中有本小区不存在的单元"

    def __init__(self, units: list[dict[str, Any]]) -> None:
        super().__init__(details={"units": units})


class NoticeExpired(InvalidNotice):
    code = "notice_expired"
    message = "公告已过失效时间，不能发布"


# --- resend to the unread (resend.py) -----------------------------------------------------


class NoticeNotResendable(Conflict):
    code = "notice_not_resendable"
    message = "只有已发布且未失效的公告可以重新推送"


class ResendTooSoon(TooManyRequests):
    code = "resend_too_soon"

    def __init__(self, next_allowed_at: datetime) -> None:
        super().__init__(
            "该公告刚刚重新推送过，请稍后再试",
            details={"next_allowed_at": next_allowed_at.isoformat()},
        )


# --- the care list (care.py) ----------------------------------------------------------------


class CareRoomNotFound(NotFound):
    code = "room_not_found"
    message = "房屋不存在或尚无认证住户"


class CareHouseholdNotFound(NotFound):
    code = "care_household_not_found"
    message = "该住户不在关注名单中"


class RevealReasonRequired(UnprocessableEntity):
    code = "reveal_reason_required"
    message = "查看完整电话必须填写原因"


# --- activities with sign-up (activities.py) -------------------------------------------------


class ActivityNotFound(NotFound):
    code = "activity_not_found"
    message = "活动不存在"


class NotActivityNotice(UnprocessableEntity):
    code = "not_activity_notice"
    message = "只有类别为“活动”的公告可以开启报名"


class ActivityExists(Conflict):
    code = "activity_exists"
    message = "该活动已经开启报名"


class InvalidActivity(UnprocessableEntity):
    code = "invalid_activity"
    message = "活动设置不正确"


class SignupClosed(Conflict):
    code = "signup_closed"
    message = "报名已截止"


class AlreadySignedUp(Conflict):
    code = "already_signed_up"
    message = "您已报名该活动，不能重复报名"


class HouseholdLimitExceeded(Conflict):
    code = "household_limit_exceeded"

    def __init__(self, limit: int) -> None:
        super().__init__(f"每户最多报名 {limit} 人", details={"per_household_limit": limit})


class RoomNotYours(UnprocessableEntity):
    code = "room_not_yours"
    message = "只能为您已认证且在活动范围内的房屋报名"


class SignupNotFound(NotFound):
    code = "signup_not_found"
    message = "报名记录不存在"


class AlreadyCheckedIn(Conflict):
    code = "already_checked_in"
    message = "该报名已经签到"


class SignupNotConfirmed(Conflict):
    code = "signup_not_confirmed"
    message = "候补或已取消的报名不能签到"


# --- attachments ----------------------------------------------------------------------


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"
    message = "附件不存在"


class UnsupportedAttachment(BadRequest):
    code = "unsupported_attachment"
    message = "仅支持图片（JPEG、PNG、WebP、HEIC）和 PDF 文件"


class PdfTooLarge(PayloadTooLarge):
    code = "pdf_too_large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"PDF 文件不能超过 {max_bytes // (1024 * 1024)} MB")


class PdfActiveContent(BadRequest):
    code = "pdf_active_content"
    message = "PDF 含有脚本、启动程序的动作或嵌入文件，请另存为普通 PDF 后再上传"


class TooManyAttachments(Conflict):
    code = "too_many_attachments"

    def __init__(self, limit: int) -> None:
        super().__init__(f"每条公告最多 {limit} 个附件", details={"max_attachments": limit})


class AttachmentsLocked(Conflict):
    code = "attachments_locked"
    message = "公告发布后不能再修改附件"
