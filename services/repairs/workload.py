"""The desk's staff list: the community's crew (from the identity replica), by department,
each with the open tickets on them, so the desk assigns to whoever has room."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.identity_replica.models import ReplicaStaff
from services.repairs import rules
from services.repairs.models import Ticket
from services.repairs.schemas import StaffWorkload


async def staff_workload(
    session: AsyncSession, community_id: str, department: str | None
) -> list[StaffWorkload]:
    """Active crew of the community (optionally one department), fewest open tickets first."""
    stmt = select(ReplicaStaff).where(
        ReplicaStaff.community_id == community_id,
        ReplicaStaff.active.is_(True),
        ReplicaStaff.role == "crew",
    )
    if department:
        stmt = stmt.where(ReplicaStaff.department == department)
    staff = (await session.scalars(stmt)).all()
    counts = (
        await session.execute(
            select(Ticket.assignee_id, Ticket.status, func.count())
            .where(
                Ticket.community_id == community_id,
                Ticket.assignee_id.in_([s.account_id for s in staff]),
                Ticket.status.in_(rules.QUEUE_STATUSES),
            )
            .group_by(Ticket.assignee_id, Ticket.status)
        )
    ).all() if staff else []
    by_member: dict[str, dict[str, int]] = {}
    for assignee, status, n in counts:
        by_member.setdefault(str(assignee), {})[status] = int(n)
    out = [
        StaffWorkload(
            account_id=s.account_id,
            name=s.name,
            role=s.role,
            department=s.department,
            open_tickets=sum(by_member.get(s.account_id, {}).values()),
            by_status={st: by_member.get(s.account_id, {}).get(st, 0) for st in rules.QUEUE_STATUSES},
        )
        for s in staff
    ]
    return sorted(out, key=lambda w: (w.department or "", w.open_tickets, w.name, w.account_id))
