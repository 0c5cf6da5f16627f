"""Who on the staff hears what (staff_alerts.py): the desk, the crew and the managers for new,
assigned, urged, reopened, overdue and commented tickets, pending bindings and notices to review.
Plain functions, tested without HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.notices.event_messages import (
    CLOCK_NAMES,
    REPAIR_LINK,
    InboxMessage,
    is_reassignment,
    repair_overdue_message,
    repair_status_message,
    with_note,
)
from services.notices.rules import clean_text, excerpt

# --- staff alerts ---------------------------------------------------------------------
# Who hears what of a ticket, as groups of people the events name or imply; the handler
# (staff_alerts.py) turns each group into accounts from the identity replica.
#   reporter           the ticket's reporter          household  verified members of its room
#   assignee           the crew member on it now      previous   the one before the step
#   desk               managers (of the ticket's department or none) and customer service
#   managers           every manager of the community pool       crew of the department

STAFF_BINDINGS_LINK = "/pages/staff/bindings?community_id={}"
NOTICE_REVIEW_LINK = "/pages/notices/review?id={}"
CUSTOMER_SERVICE = "customer_service"


def on_desk(role: str, department: str | None, ticket_department: str | None) -> bool:
    """Whether a staff member is on the desk that hears a ticket of `ticket_department`:
    customer service, and managers of that department or of none (the whole community). A
    ticket whose department is not known reaches every manager."""
    if department == CUSTOMER_SERVICE:
        return True
    if role != "manager":
        return False
    return ticket_department is None or department is None or department == ticket_department


def in_pool(role: str, department: str | None, ticket_department: str | None) -> bool:
    """Crew who may claim a pooled ticket: crew of its department."""
    return role == "crew" and ticket_department is not None and department == ticket_department


@dataclass(frozen=True)
class Alert:
    """One message for some groups of people (see above); a person in several groups of one
    event hears only the first alert that names them."""

    to: tuple[str, ...]
    message: InboxMessage


def _staff_message(
    kind: str, title: str, text: str, payload: Mapping[str, Any], purpose: str = "repair"
) -> InboxMessage:
    return InboxMessage(
        kind,
        title,
        text,
        REPAIR_LINK.format(payload["ticket_id"]),
        purpose,
        # An urgent ticket's staff pushes go at once, quiet hours or not.
        urgent=bool(payload.get("urgent")),
    )


def ticket_created_alerts(payload: Mapping[str, Any]) -> list[Alert]:
    """A new ticket: the desk at once; the crew member it was assigned to at creation; for a
    ticket staff filed for a room (代客报修), the room's household."""
    urgent = bool(payload.get("urgent"))
    noun = "投诉" if payload.get("kind") == "complaint" else "建议" if payload.get("kind") == "suggestion" else "报修"
    alerts = [
        Alert(
            ("desk",),
            _staff_message(
                "staff_ticket_new",
                f"紧急{noun}待受理" if urgent else f"新{noun}待受理",
                f"有一条新的{noun}，请在5分钟内受理。",
                payload,
            ),
        )
    ]
    if payload.get("assignee_id"):
        alerts.append(Alert(("assignee",), _assigned_message(payload)))
    if payload.get("source") == "staff":
        alerts.append(
            Alert(
                ("household",),
                InboxMessage(
                    "repair_filed_for_you",
                    "物业已为您登记报修",
                    "物业已代您登记报修，可在小程序中查看处理进度。",
                    REPAIR_LINK.format(payload["ticket_id"]),
                    "repair",
                ),
            )
        )
    return alerts


def _assigned_message(payload: Mapping[str, Any]) -> InboxMessage:
    return _staff_message(
        "staff_ticket_assigned", "新工单派给您", "您有一张新工单，请尽快联系业主并上门。", payload
    )


def ticket_status_alerts(payload: Mapping[str, Any]) -> list[Alert]:
    """A status change: the reporter hears their step (`repair_status_message`); staff hear
    what they must act on."""
    action = payload.get("action")
    alerts: list[Alert] = []
    if action in ("assign", "claim") or (action == "accept_assign" and not payload.get("pooled")):
        if payload.get("assignee_id") and payload.get("assignee_id") != payload.get(
            "previous_assignee_id"
        ):
            message = _assigned_message(payload)
            if action == "claim":
                message = _staff_message(
                    "staff_ticket_claimed", "抢单成功", "工单已归您处理，请尽快联系业主并上门。", payload
                )
            alerts.append(Alert(("assignee",), message))
        if is_reassignment(payload):
            alerts.append(
                Alert(
                    ("previous",),
                    _staff_message(
                        "staff_ticket_reassigned", "工单已改派", "该工单已改派给其他同事，您无需再处理。", payload
                    ),
                )
            )
    elif action == "accept_assign":  # pooled: the department's crew may claim it
        alerts.append(
            Alert(
                ("pool",),
                _staff_message("staff_ticket_pool", "新工单待抢单", "部门工单池有新工单，先抢先得。", payload),
            )
        )
    elif action == "urge":
        alerts.append(
            Alert(
                ("assignee", "desk"),
                _staff_message("staff_ticket_urged", "业主催单", "业主催促处理该报修，请尽快跟进。", payload),
            )
        )
    elif action == "reopen":
        alerts.append(
            Alert(
                ("desk", "assignee", "previous"),
                _staff_message(
                    "staff_ticket_reopened", "报修被重新打开", "业主反馈问题未解决，报修已重新打开。", payload
                ),
            )
        )
    elif action == "cancel":
        alerts.append(
            Alert(
                ("assignee", "previous"),
                _staff_message(
                    "staff_ticket_cancelled",
                    "工单已取消",
                    with_note("该工单已取消：{note}", payload.get("note")),
                    payload,
                ),
            )
        )
    reporter = repair_status_message(payload)
    if reporter is not None:
        alerts.insert(0, Alert(("reporter",), reporter))
    return alerts


def ticket_overdue_alerts(payload: Mapping[str, Any]) -> list[Alert]:
    """An SLA breach: the reporter's apology; the desk and every manager, to act."""
    clock = CLOCK_NAMES.get(str(payload.get("clock")), "处理")
    return [
        Alert(("reporter",), repair_overdue_message(payload)),
        Alert(
            ("desk", "managers"),
            _staff_message(
                "staff_ticket_overdue", f"报修{clock}超时", f"有报修{clock}已超时，请立即跟进处理。", payload
            ),
        ),
    ]


def overdue_source_key(payload: Mapping[str, Any]) -> str:
    """One breach, however many events say so: the ticket, the clock and its deadline."""
    return f"overdue:{payload['ticket_id']}:{payload.get('clock')}:{payload.get('deadline')}"


def ticket_comment_alerts(payload: Mapping[str, Any]) -> list[Alert]:
    """A comment reaches the other side: staff's public reply the reporter's household; a
    resident's comment, or an internal note, the assignee and the desk (never residents)."""
    text = excerpt(str(payload.get("excerpt") or ""), 60)
    if payload.get("author_side") == "staff" and not payload.get("internal"):
        return [
            Alert(
                ("reporter", "household"),
                InboxMessage(
                    "repair_comment",
                    "物业回复了您的报修",
                    text or "物业回复了您的报修，请查看。",
                    REPAIR_LINK.format(payload["ticket_id"]),
                    "repair",
                ),
            )
        ]
    if payload.get("internal"):
        title, kind = "工单内部备注", "staff_ticket_note"
    else:
        title, kind = "业主留言", "staff_ticket_comment"
    return [Alert(("assignee", "desk"), _staff_message(kind, title, text or title, payload))]


def binding_pending_message(community_id: str, count: int) -> InboxMessage:
    """What the community's managers hear of pending bindings: one entry whose count grows
    while it is unread and recent, not one per binding."""
    text = "有1条房屋认证申请待审核。" if count == 1 else f"有{count}条房屋认证申请待审核。"
    return InboxMessage(
        "staff_binding_pending",
        "房屋认证待审核",
        text,
        STAFF_BINDINGS_LINK.format(community_id),
        "binding",
    )


def notice_review_message(notice_id: str, title: str) -> InboxMessage:
    return InboxMessage(
        "staff_notice_review",
        "公告待审核",
        f"公告「{clean_text(title)}」已提交，请审核。",
        NOTICE_REVIEW_LINK.format(notice_id),
        "notice",
    )


# Pending bindings arriving within this long of an unread entry are counted into it.
BINDING_COALESCE_SECONDS = 600


def coalesces_into(entry_created_at: datetime, now: datetime) -> bool:
    """Whether one more pending binding is counted into a manager's unread entry."""
    return now - entry_created_at <= timedelta(seconds=BINDING_COALESCE_SECONDS)
