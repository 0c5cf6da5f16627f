"""Push subscriptions: the templates to ask for, one-time consents granted and left, the
openids pushes are addressed to, and forgetting a deleted account. Flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notices.errors import UnknownTemplate
from services.notices.models import InboxEntry, PushConsent, PushMessage, PushRecipient
from services.notices.runtime import Runtime


@dataclass(frozen=True)
class TemplateRef:
    template_id: str
    purpose: str


@dataclass(frozen=True)
class Consents:
    """What `/me/subscriptions` answers (schemas.Subscriptions, field for field)."""

    templates: list[TemplateRef]
    # template id -> consents left (0 for a template never granted).
    consents: dict[str, int]


async def consents_of(session: AsyncSession, rt: Runtime, account_id: str) -> Consents:
    templates = rt.settings.templates()
    rows: dict[str, int] = {
        template_id: remaining
        for template_id, remaining in (
            await session.execute(
                select(PushConsent.template_id, PushConsent.remaining).where(
                    PushConsent.account_id == account_id
                )
            )
        ).all()
    }
    return Consents(
        templates=[TemplateRef(t, p) for p, t in templates.items()],
        consents={t: int(rows.get(t, 0)) for t in templates.values()},
    )


async def grant_consents(
    session: AsyncSession, rt: Runtime, account_id: str, template_ids: Sequence[str], now: datetime
) -> None:
    """One more push allowed per template id (all known, or nothing changes)."""
    known = set(rt.settings.templates().values())
    unknown = sorted(set(template_ids) - known)
    if unknown:
        raise UnknownTemplate(details={"template_ids": unknown})
    for template_id in template_ids:
        row = await session.get(PushConsent, (account_id, template_id))
        if row is None:
            session.add(
                PushConsent(
                    account_id=account_id, template_id=template_id, remaining=1, updated_at=now
                )
            )
        else:
            row.remaining += 1
            row.updated_at = now
        await session.flush()


async def record_openid(session: AsyncSession, account_id: str, openid: str, now: datetime) -> None:
    row = await session.get(PushRecipient, account_id)
    if row is None:
        session.add(PushRecipient(account_id=account_id, openid=openid, updated_at=now))
    else:
        row.openid, row.updated_at = openid, now
    await session.flush()


async def forget_account(session: AsyncSession, account_id: str) -> None:
    """The account was deleted: its openid, consents, inbox and queued pushes go. The pushes
    that already went (or were refused) stay as the record of what was sent when, without
    the openid they went to or their text (which may name the person: a binding's
    `1栋101李明`). Its reads stay too: they name no one, and a household's reach is a fact."""
    for model in (PushRecipient, PushConsent, InboxEntry):
        await session.execute(delete(model).where(model.account_id == account_id))
    await session.execute(
        delete(PushMessage).where(
            PushMessage.account_id == account_id, PushMessage.status == "pending"
        )
    )
    await session.execute(
        update(PushMessage).where(PushMessage.account_id == account_id).values(openid="", data={})
    )
