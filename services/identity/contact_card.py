"""The community's contact card (客服电话, office hours, emergency numbers, 群规): set by a
manager, read by the community's verified members and staff; its numbers are also shown on
the QR landing page (they are the ones on the notice board)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.identity.errors import CommunityNotFound, ContactCardNotFound
from services.identity.models import Binding, CommunityCard
from services.identity.schemas import ContactCardIn, ContactCardOut, EmergencyNumber, PublicContact


def card_out(card: CommunityCard) -> ContactCardOut:
    return ContactCardOut(
        community_id=card.community_id,
        service_phone=card.service_phone,
        office_hours=card.office_hours,
        emergency_numbers=[EmergencyNumber(**e) for e in card.emergency_numbers or []],
        group_rules=card.group_rules,
        updated_at=card.updated_at,
    )


async def put_card(
    session: AsyncSession, cid: str, body: ContactCardIn, account_id: str, now: datetime
) -> CommunityCard:
    card = await session.get(CommunityCard, cid)
    if card is None:
        card = CommunityCard(community_id=cid)
        session.add(card)
    card.service_phone = body.service_phone
    card.office_hours = (body.office_hours or "").strip() or None
    card.emergency_numbers = [e.model_dump() for e in body.emergency_numbers]
    card.group_rules = (body.group_rules or "").strip() or None
    card.updated_by = account_id
    card.updated_at = now
    await session.flush()
    return card


async def card_for_member(session: AsyncSession, cid: str, principal: Principal) -> CommunityCard:
    """The card, for a verified member of the community or its staff; everyone else gets
    the community's 404 (unknown and foreign look the same)."""
    if not principal.is_staff_of(cid):
        member = await session.scalar(
            select(Binding.id)
            .where(
                Binding.account_id == principal.account_id,
                Binding.community_id == cid,
                Binding.status == "verified",
            )
            .limit(1)
        )
        if member is None:
            raise CommunityNotFound()
    card = await session.get(CommunityCard, cid)
    if card is None:
        raise ContactCardNotFound()
    return card


async def public_contact(session: AsyncSession, cid: str) -> PublicContact | None:
    card = await session.get(CommunityCard, cid)
    if card is None:
        return None
    return PublicContact(
        service_phone=card.service_phone,
        office_hours=card.office_hours,
        emergency_numbers=[EmergencyNumber(**e) for e in card.emergency_numbers or []],
    )
