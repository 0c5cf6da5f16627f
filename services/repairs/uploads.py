"""Photos: storing a cleaned upload (who may, how many a day), serving it to those who may
see it, attaching it to a ticket or a step, deleting those never attached."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import dialect_name, new_id
from services.common.files import save_file
from services.common.identity_replica import queries as replica
from services.common.images import DecodeSlots
from services.repairs import access_rules, rules
from services.repairs.access import visible_ticket
from services.repairs.errors import (
    PhotoNotFound,
    TicketNotFound,
    UploadNotAllowed,
    UploadNotFound,
    UploadQuotaExceeded,
)
from services.repairs.models import Ticket, Upload
from services.repairs.settings import Settings


async def _check_may_upload(
    session: AsyncSession, settings: Settings, principal: Principal, now: datetime
) -> None:
    """Only someone who may report (a verified room, or staff), within the daily quota."""
    me = principal.account_id
    if not access_rules.may_upload(principal, bool(await replica.active_bindings_of(session, me))):
        raise UploadNotAllowed()
    await _check_quota(session, settings, me, now)


async def _check_quota(session: AsyncSession, settings: Settings, me: str, now: datetime) -> None:
    recent = await session.scalar(
        select(func.count())
        .select_from(Upload)
        .where(Upload.owner_id == me, Upload.created_at > now - timedelta(days=1))
    )
    if (recent or 0) >= settings.max_uploads_per_day:
        raise UploadQuotaExceeded(settings.max_uploads_per_day)


async def store_upload(
    session: AsyncSession,
    settings: Settings,
    slots: DecodeSlots,
    principal: Principal,
    raw: bytes,
    now: datetime,
) -> Upload:
    await _check_may_upload(session, settings, principal, now)
    # Nothing is written yet: end the read, so no connection (on SQLite: no write lock) is
    # held while waiting for a decode slot.
    await session.rollback()
    image = await slots.clean(
        raw, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_image_pixels
    )
    # Counted again before the row goes in, under the account's lock held to the commit
    # (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises anyway): parallel uploads that all
    # passed the first count cannot overshoot the quota.
    if dialect_name(session) == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "uploads:" + principal.account_id}
        )
    await _check_quota(session, settings, principal.account_id, now)
    upload_id = new_id()
    filename = await save_file(settings.uploads_dir, upload_id, image.extension, image.data)
    upload = Upload(
        id=upload_id,
        owner_id=principal.account_id,
        content_type=image.content_type,
        size=len(image.data),
        width=image.width,
        height=image.height,
        filename=filename,
        created_at=now,
    )
    session.add(upload)
    await session.flush()
    return upload


async def upload_for_viewer(
    session: AsyncSession, settings: Settings, principal: Principal, upload_id: str
) -> tuple[Upload, Path]:
    """A photo for its uploader, or for anyone who may see the ticket it belongs to."""
    upload = await session.get(Upload, upload_id)
    if upload is None:
        raise UploadNotFound()
    if upload.owner_id != principal.account_id:
        if upload.ticket_id is None:
            raise UploadNotFound()
        try:
            _, roles = await visible_ticket(session, principal, upload.ticket_id)
        except TicketNotFound as exc:
            raise UploadNotFound() from exc
        if upload.internal and not roles & rules.STAFF_ROLES:
            raise UploadNotFound()  # a photo of an internal comment: staff only
    path = Path(settings.uploads_dir) / upload.filename
    if not path.is_file():
        raise UploadNotFound()
    return upload, path


async def attach_photos(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    photo_ids: Sequence[str],
    ticket: Ticket,
    now: datetime,
) -> None:
    """Photos the caller uploaded and has not used yet become the ticket's; one left unused
    past `unattached_upload_hours` is gone (or about to be: the scheduler deletes it)."""
    if not photo_ids:
        return
    rows = (
        await session.scalars(
            select(Upload).where(
                Upload.id.in_(list(photo_ids)),
                Upload.owner_id == principal.account_id,
                Upload.ticket_id.is_(None),
                Upload.created_at > _unattached_before(settings, now),
            )
        )
    ).all()
    if len(rows) != len(set(photo_ids)):
        raise PhotoNotFound()
    for row in rows:
        row.ticket_id = ticket.id
        row.community_id = ticket.community_id


def _unattached_before(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(hours=settings.unattached_upload_hours)


async def delete_unattached(
    session: AsyncSession, settings: Settings, now: datetime, batch: int = 1000
) -> list[str]:
    """Deletes the rows of photos never attached in time (a batch per call) and returns their
    file names, for the caller to remove once the deletion is committed."""
    stale = (
        Upload.ticket_id.is_(None), Upload.created_at <= _unattached_before(settings, now)
    )
    ids = select(Upload.id).where(*stale).order_by(Upload.created_at).limit(batch)
    # The conditions again on the rows themselves: one attached meanwhile stays.
    stmt = delete(Upload).where(Upload.id.in_(ids), *stale).returning(Upload.filename)
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    return list(result.scalars().all())


async def remove_files(settings: Settings, filenames: Sequence[str]) -> None:
    folder = Path(settings.uploads_dir)

    def remove() -> None:
        for name in filenames:
            (folder / name).unlink(missing_ok=True)

    if filenames:
        await asyncio.to_thread(remove)
