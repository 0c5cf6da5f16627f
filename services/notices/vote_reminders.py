"""Reminders to a vote's non-voters: votes names the rooms without a ballot
(`votes.vote.reminder`), notices tells their verified owners (inbox entry and a push under
the vote template's consent and quiet hours), once per reminder whatever the redelivery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events import EventHandlers, ReceivedEvent
from services.notices import event_messages, rules
from services.notices.audience import account_ids_of_rooms
from services.notices.delivery import deliver
from services.notices.runtime import Runtime


def reminder_message(payload: Mapping[str, Any]) -> event_messages.InboxMessage:
    title = rules.clean_text(str(payload.get("title") or ""))
    return event_messages.InboxMessage(
        "vote_reminder",
        "您还没有投票",
        f"「{title}」尚未收到您房屋的投票，请在截止前参与。",
        event_messages.VOTE_LINK.format(payload["vote_id"]),
        "vote",
    )


def register_vote_reminder_handler(handlers: EventHandlers, rt: Runtime) -> EventHandlers:
    @handlers.on("votes.vote.reminder")
    async def vote_reminder(session: AsyncSession, event: ReceivedEvent) -> None:
        p = event.payload
        # Only owners cast a room's ballot; one reminder may come in several events (a large
        # electorate), all under one source key so an owner of rooms in two hears it once.
        accounts = await account_ids_of_rooms(session, list(p.get("room_ids") or []), ("owner",))
        await deliver(
            session,
            rt,
            str(p["community_id"]),
            accounts,
            reminder_message(p),
            f"vote-reminder:{p['vote_id']}:{p.get('reminder_no', 0)}",
            rt.clock.now(),
        )

    return handlers
