"""Photos: storing a cleaned upload, serving it to those who may see it, attaching it to a
ticket or a step."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import new_id
from services.repairs.access import visible_ticket
from services.repairs.errors import PhotoNotFound, TicketNotFound, UploadNotFound
from services.repairs.images import clean_image
from services.repairs.models import Ticket, Upload
from services.repairs.settings import Settings


async def store_upload(
    session: AsyncSession, settings: Settings, principal: Principal, raw: bytes, now: datetime
) -> Upload:
    image = await asyncio.to_thread(
        clean_image, raw, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_image_pixels
    )
    upload_id = new_id()
    filename = f"{upload_id}.{image.extension}"
    folder = Path(settings.uploads_dir)

    def write() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / filename).write_bytes(image.data)

    await asyncio.to_thread(write)
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
            await visible_ticket(session, principal, upload.ticket_id)
        except TicketNotFound as exc:
            raise UploadNotFound() from exc
    path = Path(settings.uploads_dir) / upload.filename
    if not path.is_file():
        raise UploadNotFound()
    return upload, path


async def attach_photos(
    session: AsyncSession, principal: Principal, photo_ids: Sequence[str], ticket: Ticket
) -> None:
    """Photos the caller uploaded and has not used yet become the ticket's."""
    if not photo_ids:
        return
    rows = (
        await session.scalars(
            select(Upload).where(
                Upload.id.in_(list(photo_ids)),
                Upload.owner_id == principal.account_id,
                Upload.ticket_id.is_(None),
            )
        )
    ).all()
    if len(rows) != len(set(photo_ids)):
        raise PhotoNotFound()
    for row in rows:
        row.ticket_id = ticket.id
        row.community_id = ticket.community_id
