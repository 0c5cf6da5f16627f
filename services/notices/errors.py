"""The notices service's domain errors, each with a stable code and a Chinese message."""

from __future__ import annotations

from services.common.errors import Conflict, Forbidden, NotFound, UnprocessableEntity

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


class InvalidNotice(UnprocessableEntity):
    code = "invalid_notice"


class UnknownTemplate(UnprocessableEntity):
    code = "unknown_template"
    message = "订阅消息模板不存在"
