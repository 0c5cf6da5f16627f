"""Pictures and PDF files of a notice: added by its managers before it is published (pictures
cleaned like repair photos, PDFs checked by content and size), listed with the notice, and
served to those who may read the notice."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import new_id
from services.common.files import save_file
from services.common.images import BadImage, DecodeSlots, EmptyFile, ImageTooBig
from services.notices import rules
from services.notices.errors import (
    AttachmentNotFound,
    AttachmentsLocked,
    PdfActiveContent,
    PdfTooLarge,
    TooManyAttachments,
    UnsupportedAttachment,
)
from services.notices.feed import visible_to
from services.notices.models import Notice, NoticeAttachment
from services.notices.settings import Settings


@dataclass(frozen=True)
class CleanFile:
    kind: str
    data: bytes
    content_type: str
    extension: str
    width: int | None
    height: int | None
    display_name: str


async def _clean(
    settings: Settings, slots: DecodeSlots, raw: bytes, client_name: str | None
) -> CleanFile:
    if not raw:
        raise EmptyFile()
    if rules.is_pdf(raw):
        if len(raw) > settings.max_pdf_bytes:
            raise PdfTooLarge(settings.max_pdf_bytes)
        if rules.pdf_has_active_content(raw):
            raise PdfActiveContent()
        name = rules.attachment_name(client_name)
        return CleanFile("pdf", raw, "application/pdf", "pdf", None, None, name)
    try:
        image = await slots.clean(
            raw, max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels
        )
    except (EmptyFile, ImageTooBig):
        raise
    except BadImage as exc:
        # Neither a PDF nor a picture we take: say what is.
        raise UnsupportedAttachment() from exc
    return CleanFile(
        "image", image.data, image.content_type, image.extension, image.width, image.height,
        f"图片.{image.extension}",
    )


async def add_attachment(
    session: AsyncSession,
    settings: Settings,
    slots: DecodeSlots,
    notice: Notice,
    principal: Principal,
    raw: bytes,
    client_name: str | None,
    now: datetime,
) -> NoticeAttachment:
    """Adds a picture or a PDF to a notice not yet published (its managers only: the caller
    has been checked by the route's dependency)."""
    if notice.status not in rules.ATTACHMENTS_EDITABLE:
        raise AttachmentsLocked()
    notice_id, community_id = notice.id, notice.community_id
    count = await session.scalar(
        select(func.count())
        .select_from(NoticeAttachment)
        .where(NoticeAttachment.notice_id == notice_id)
    )
    if (count or 0) >= settings.max_attachments:
        raise TooManyAttachments(settings.max_attachments)
    # Nothing written yet: end the read, so no connection (on SQLite: no lock) is held while
    # a picture waits for a decode slot.
    await session.rollback()
    clean = await _clean(settings, slots, raw, client_name)
    attachment_id = new_id()
    filename = await save_file(settings.files_dir, attachment_id, clean.extension, clean.data)
    row = NoticeAttachment(
        id=attachment_id,
        notice_id=notice_id,
        community_id=community_id,
        kind=clean.kind,
        content_type=clean.content_type,
        size=len(clean.data),
        width=clean.width,
        height=clean.height,
        filename=filename,
        display_name=clean.display_name,
        created_by=principal.account_id,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def remove_attachment(
    session: AsyncSession, settings: Settings, notice: Notice, attachment_id: str
) -> None:
    if notice.status not in rules.ATTACHMENTS_EDITABLE:
        raise AttachmentsLocked()
    row = await session.get(NoticeAttachment, attachment_id)
    if row is None or row.notice_id != notice.id:
        raise AttachmentNotFound()
    filename = row.filename
    await session.delete(row)
    await session.flush()
    await asyncio.to_thread((Path(settings.files_dir) / filename).unlink, missing_ok=True)


async def attachments_of(session: AsyncSession, notice_ids: list[str]) -> dict[str, list[NoticeAttachment]]:
    """notice id -> its attachments in upload order, for a page of notices in one query."""
    out: dict[str, list[NoticeAttachment]] = {n: [] for n in notice_ids}
    if notice_ids:
        rows = await session.scalars(
            select(NoticeAttachment)
            .where(NoticeAttachment.notice_id.in_(notice_ids))
            .order_by(NoticeAttachment.created_at, NoticeAttachment.id)
        )
        for row in rows.all():
            out[row.notice_id].append(row)
    return out


async def attachment_for_viewer(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    notice_id: str,
    attachment_id: str,
    now: datetime,
) -> tuple[NoticeAttachment, Path]:
    """The file, for the notice's managers or for those the published notice targets; for
    anyone else it does not exist."""
    row = await session.get(NoticeAttachment, attachment_id)
    if row is None or row.notice_id != notice_id:
        raise AttachmentNotFound()
    notice = await session.get(Notice, notice_id)
    if notice is None:
        raise AttachmentNotFound()
    if not principal.is_manager_of(notice.community_id) and not await visible_to(
        session, principal.account_id, notice, now
    ):
        raise AttachmentNotFound()
    path = Path(settings.files_dir) / row.filename
    if not path.is_file():
        raise AttachmentNotFound()
    return row, path
