"""The events the notices service consumes (inbox entries, pushes, openids) and the one it
emits (`notices.notice.published`, in workflow.publish). Repairs' events, pending bindings and
staff openids: staff_alerts.py."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events import EventHandlers, ReceivedEvent
from services.notices import event_messages, fee_messages
from services.notices.delivery import deliver, queue_fanout
from services.notices.runtime import Runtime
from services.notices.staff_alerts import register_staff_alerts
from services.notices.subscriptions import forget_account, record_openid


def register_notice_handlers(handlers: EventHandlers, rt: Runtime) -> EventHandlers:
    async def to_one(
        session: AsyncSession, event: ReceivedEvent, account_id: str, message: event_messages.InboxMessage
    ) -> None:
        await deliver(
            session,
            rt,
            str(event.payload["community_id"]),
            [account_id],
            message,
            f"event:{event.id}",
            rt.clock.now(),
        )

    async def vote_event(session: AsyncSession, event: ReceivedEvent) -> None:
        message = event_messages.vote_message(event.type, event.payload)
        if message is None:
            return
        building_ids = event.payload.get("building_ids")
        audience = {
            "kind": "buildings" if building_ids else "community",
            "building_ids": list(building_ids or []),
            "units": [],
            "roles": event_messages.vote_roles(event.payload),
        }
        # A vote may reach the whole community: delivered in the background, like a notice.
        await queue_fanout(
            session,
            str(event.payload["community_id"]),
            audience,
            message,
            f"event:{event.id}",
            rt.clock.now(),
        )

    for vote_type in ("votes.vote.opened", "votes.vote.closing_soon", "votes.vote.closed"):
        handlers.on(vote_type)(vote_event)

    async def billing_event(session: AsyncSession, event: ReceivedEvent) -> None:
        """A bill issued, a payment settled or refunded, a reminder (催缴): to the room's
        owners, as billing named them (its payload's `account_ids`)."""
        message = fee_messages.billing_message(event.type, event.payload)
        accounts = [str(a) for a in event.payload.get("account_ids") or []]
        if message is None or not accounts:
            return
        await deliver(
            session, rt, str(event.payload["community_id"]), accounts, message, f"event:{event.id}", rt.clock.now()
        )

    for billing_type in fee_messages.BILLING_EVENTS:
        handlers.on(billing_type)(billing_event)

    # Registered after the replica's own handler of the same type.
    @handlers.on("identity.binding.verified")
    async def binding_verified(session: AsyncSession, event: ReceivedEvent) -> None:
        account_id = str(event.payload["account_id"])
        openid = event.payload.get("openid")
        if openid:
            await record_openid(session, account_id, str(openid), rt.clock.now())
        await to_one(session, event, account_id, event_messages.binding_message(event.type, event.payload))

    @handlers.on("identity.binding.rejected")
    async def binding_rejected(session: AsyncSession, event: ReceivedEvent) -> None:
        await to_one(
            session,
            event,
            str(event.payload["account_id"]),
            event_messages.binding_message(event.type, event.payload),
        )

    @handlers.on("identity.account.deleted")
    async def account_deleted(session: AsyncSession, event: ReceivedEvent) -> None:
        await forget_account(session, str(event.payload["account_id"]))

    @handlers.on("identity.binding.revoked")
    async def binding_revoked(session: AsyncSession, event: ReceivedEvent) -> None:
        # `account.deleted` is ordered by account, a binding's events by binding: a late
        # `binding.verified` may bring the openid (and an inbox entry naming the person) back
        # after it. The revocation that identity sends for it comes after, and forgets again.
        if event.payload.get("reason") == "account_deleted":
            await forget_account(session, str(event.payload["account_id"]))

    register_staff_alerts(handlers, rt)
    return handlers
