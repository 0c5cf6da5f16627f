"""What the receiver tests read back: a consumer's inbox rows and the communities its handlers
wrote."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from services.common.events.models import InboxEntry
from services.common.identity_replica.models import ReplicaCommunity


async def counts(app: Any) -> tuple[int, int]:
    """(inbox rows, replica communities) of a consumer app."""
    async with app.state.sessionmaker() as s:
        inbox = await s.scalar(select(func.count()).select_from(InboxEntry))
        communities = await s.scalar(select(func.count()).select_from(ReplicaCommunity))
    return int(inbox or 0), int(communities or 0)
