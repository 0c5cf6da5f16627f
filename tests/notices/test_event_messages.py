"""Inbox texts of consumed events (event_messages.py), without HTTP."""

from __future__ import annotations

import pytest

from services.notices import event_messages


@pytest.mark.parametrize(
    ("payload", "step"),
    [
        ({"action": "assign", "assignee_id": "b", "previous_assignee_id": None}, "assign"),
        ({"action": "assign", "assignee_id": "b", "previous_assignee_id": "a"}, "reassign"),
        ({"action": "accept_assign", "assignee_id": "b"}, "assign"),
        ({"action": "accept_assign", "assignee_id": None, "pooled": True}, "accept"),
        ({"action": "claim", "assignee_id": "b"}, "assign"),
        ({"action": "cancel", "note": "重复报修"}, "cancel"),
        ({"action": "cancel", "note": None}, None),  # the reporter's own cancel
        ({"action": "urge"}, None),
        ({"action": "reopen"}, None),
        ({"action": "confirm"}, None),
        ({"action": "auto_close"}, "auto_close"),
    ],
)
def test_which_step_the_reporter_hears(payload, step):
    assert event_messages.reporter_step(payload) == step


def test_a_hold_without_a_reason_still_reads_well():
    message = event_messages.repair_status_message({"action": "hold", "ticket_id": "t", "note": "  "})
    assert message is not None and message.text == "您的报修暂缓处理。"
