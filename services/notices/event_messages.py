"""Inbox texts of the events notices consumes from repairs, votes and identity (the reporter's
ticket steps, a vote opening or closing, a binding verified or rejected), and the message shape
every inbox entry and push shares. Pure functions; billing's texts are in fee_messages.py,
the staff's in staff_alert_rules.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.notices.rules import clean_text


@dataclass(frozen=True)
class InboxMessage:
    kind: str
    title: str
    text: str
    link: str
    purpose: str  # which subscribe template: repair | vote | notice | binding | billing
    urgent: bool = False


REPAIR_LINK = "/pages/repairs/detail?id={}"
VOTE_LINK = "/pages/votes/detail?id={}"
NOTICE_LINK = "/pages/notices/detail?id={}"
BINDING_LINK = "/pages/me/bindings"

# What the reporter hears of each step of their ticket (title, text; `{note}` the reason).
_REPAIR_ACTIONS = {
    "accept": ("报修已受理", "您的报修已受理，我们会尽快安排师傅上门。"),
    "assign": ("报修已派单", "您的报修已派给维修师傅，请保持电话畅通。"),
    "reassign": ("报修已改派", "您的报修已改派给其他维修师傅，请保持电话畅通。"),
    "start": ("师傅已出发", "维修师傅已出发，即将上门处理。"),
    "hold": ("报修暂缓处理", "您的报修暂缓处理：{note}"),
    "resume": ("报修恢复处理", "您的报修已恢复处理，师傅会尽快上门。"),
    "cancel": ("报修已取消", "物业取消了您的报修：{note}"),
    "resolve": ("报修已处理完成", "您的报修已处理完成，请确认并评价。"),
    "auto_close": ("报修已自动结单", "您的报修处理完成已满7天，系统已自动结单。"),
}

CLOCK_NAMES = {"acknowledge": "受理", "arrive": "上门", "resolve": "处理"}


def with_note(text: str, note: object) -> str:
    reason = clean_text(str(note or ""))
    return text.format(note=reason) if reason else text.split("：")[0] + "。"


def reporter_step(payload: Mapping[str, Any]) -> str | None:
    """Which of `_REPAIR_ACTIONS` the reporter hears for a status change, or None. A cancel
    without a reason is the reporter's own (the desk must give one); a reassignment is an
    `assign` that replaces someone; accept-and-assign is heard as what it came to."""
    action = payload.get("action")
    if action == "assign" and is_reassignment(payload):
        return "reassign"
    if action == "accept_assign":
        return "accept" if payload.get("pooled") or not payload.get("assignee_id") else "assign"
    if action == "claim":
        return "assign"
    if action == "cancel" and not clean_text(str(payload.get("note") or "")):
        return None
    return str(action) if action in _REPAIR_ACTIONS else None


def is_reassignment(payload: Mapping[str, Any]) -> bool:
    previous = payload.get("previous_assignee_id")
    return bool(previous) and previous != payload.get("assignee_id")


def repair_status_message(payload: Mapping[str, Any]) -> InboxMessage | None:
    step = reporter_step(payload)
    if step is None:
        return None
    title, text = _REPAIR_ACTIONS[step]
    return InboxMessage(
        "repair_" + step,
        title,
        with_note(text, payload.get("note")),
        REPAIR_LINK.format(payload["ticket_id"]),
        "repair",
    )


def repair_overdue_message(payload: Mapping[str, Any]) -> InboxMessage:
    clock = CLOCK_NAMES.get(str(payload.get("clock")), "处理")
    return InboxMessage(
        "repair_overdue",
        "报修处理超时致歉",
        f"很抱歉，您的报修{clock}超时了，我们正在加急处理。",
        REPAIR_LINK.format(payload["ticket_id"]),
        "repair",
    )


def vote_message(event_type: str, payload: Mapping[str, Any]) -> InboxMessage | None:
    title = clean_text(str(payload.get("title") or ""))
    link = VOTE_LINK.format(payload["vote_id"])
    noun = "问卷" if payload.get("kind") == "survey" else "投票"
    if event_type == "votes.vote.opened":
        return InboxMessage(
            "vote_opened", f"{noun}开始了", f"{noun}「{title}」已开始，请及时参与。", link, "vote"
        )
    if event_type == "votes.vote.closing_soon":
        return InboxMessage(
            "vote_closing_soon",
            "即将截止",
            f"「{title}」即将截止，尚未参与的请抓紧。",
            link,
            "vote",
        )
    if event_type == "votes.vote.closed":
        return InboxMessage(
            "vote_closed", f"{noun}已结束", f"「{title}」已结束，可查看结果。", link, "vote"
        )
    return None


def vote_roles(payload: Mapping[str, Any]) -> list[str] | None:
    """A vote is for owners (they cast the ballots); a survey, or a closing reminder whose
    kind is not stated, for every verified member."""
    return ["owner"] if payload.get("kind") == "vote" else None


def binding_message(event_type: str, payload: Mapping[str, Any]) -> InboxMessage:
    if event_type == "identity.binding.verified":
        name = payload.get("display_name") or ""
        return InboxMessage(
            "binding_verified",
            "房屋认证已通过",
            f"您已通过认证：{name}".rstrip("："),
            BINDING_LINK,
            "binding",
        )
    reason = clean_text(str(payload.get("reason") or ""))
    text = f"您的房屋认证未通过：{reason}" if reason else "您的房屋认证未通过。"
    return InboxMessage("binding_rejected", "房屋认证未通过", text, BINDING_LINK, "binding")
