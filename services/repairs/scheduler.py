"""The service's background clock: every `scheduler_interval_seconds` it records SLA breaches
(emitting `repairs.ticket.overdue` once per breach), auto-closes tickets resolved 7 days
ago, and deletes photos left unattached for `unattached_upload_hours`. Time comes from
`app.state.clock`, so tests move it."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.clock import Clock
from services.common.periodic import periodic_hook
from services.repairs import sla, uploads
from services.repairs.errors import ConcurrentChange
from services.repairs.settings import Settings


async def sweep(app: FastAPI) -> dict[str, int]:
    """One pass; each auto-close in its own transaction so one conflict does not undo others."""
    settings: Settings = app.state.settings
    clock: Clock = app.state.clock
    now = clock.now()
    async with app.state.sessionmaker() as session:
        breaches = await sla.mark_breaches(session, now)
        await session.commit()
    async with app.state.sessionmaker() as session:
        due = await sla.due_for_auto_close(session, settings, now)
    closed = 0
    for ticket_id in due:
        async with app.state.sessionmaker() as session:
            try:
                if await sla.auto_close(session, settings, ticket_id, now):
                    await session.commit()
                    closed += 1
            except ConcurrentChange:
                await session.rollback()  # someone confirmed or reopened it meanwhile
    # Photos never attached: rows first, files once that is committed (a failed commit
    # leaves both; a failed unlink leaves only a file nothing points to).
    async with app.state.sessionmaker() as session:
        stale = await uploads.delete_unattached(session, settings, now)
        await session.commit()
    await uploads.remove_files(settings, stale)
    return {"breaches": breaches, "auto_closed": closed, "uploads_deleted": len(stale)}


start_scheduler = periodic_hook("repairs-scheduler", sweep, first_pass_at_start=False)
