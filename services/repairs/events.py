"""Events this service consumes beyond the identity replica's: a removed staff member's open
tickets are flagged for reassignment; a deleted account's name and phone are erased. (The events it emits are written by the use cases, in
the same unit of work as the change: repairs.ticket.created in tickets.py,
repairs.ticket.status_changed and repairs.ticket.overdue in transitions.py and sla.py.)"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import utcnow
from services.common.events import EventHandlers, ReceivedEvent
from services.repairs.erasure import erase_account
from services.repairs.tickets import flag_for_reassignment


async def on_staff_removed(session: AsyncSession, event: ReceivedEvent) -> None:
    p = event.payload
    await flag_for_reassignment(session, str(p["community_id"]), str(p["account_id"]), utcnow())


async def on_account_deleted(session: AsyncSession, event: ReceivedEvent) -> None:
    await erase_account(session, str(event.payload["account_id"]))


def register_repairs_handlers(handlers: EventHandlers) -> EventHandlers:
    handlers.on("identity.staff.removed")(on_staff_removed)
    handlers.on("identity.account.deleted")(on_account_deleted)
    return handlers
