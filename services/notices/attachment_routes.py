"""HTTP routes of notices' pictures and PDF files (services/notices/attachments.py). A router
of their own, matched before the workflow's `/notices/{notice_id}/{action}`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile
from fastapi.responses import FileResponse

from services.common.auth import CurrentPrincipal
from services.common.clock import Now
from services.common.db import SessionDep
from services.common.state import DecodeSlotsDep
from services.notices import attachments, rules
from services.notices.deps import IdPath, NoticeForManager, RuntimeDep
from services.notices.models import NoticeAttachment
from services.notices.schemas import AttachmentOut
from services.notices.settings import Settings

attachment_router = APIRouter()


def attachment_out(settings: Settings, a: NoticeAttachment) -> AttachmentOut:
    return AttachmentOut(
        id=a.id,
        kind=a.kind,  # type: ignore[arg-type]
        content_type=a.content_type,
        size=a.size,
        width=a.width,
        height=a.height,
        name=a.display_name,
        url=f"{settings.public_path_prefix}/notices/{a.notice_id}/attachments/{a.id}",
    )


@attachment_router.post(
    "/notices/{notice_id}/attachments",
    status_code=201,
    response_model=AttachmentOut,
    tags=["notices"],
)
async def add_attachment(
    notice: NoticeForManager,
    principal: CurrentPrincipal,
    session: SessionDep,
    rt: RuntimeDep,
    slots: DecodeSlotsDep,
    now: Now,
    file: Annotated[
        UploadFile,
        File(description="图片（JPEG、PNG、WebP、HEIC，≤ 10 MB，≤ 2500 万像素）或 PDF（≤ 10 MB）"),
    ],
) -> AttachmentOut:
    """A picture (re-encoded without metadata, like repair photos) or a PDF (checked by its
    content; scripts and embedded files refused), before the notice is published."""
    limit = max(rt.settings.max_image_bytes, rt.settings.max_pdf_bytes)
    raw = await file.read(limit + 1)
    row = await attachments.add_attachment(
        session, rt.settings, slots, notice, principal, raw, file.filename, now
    )
    return attachment_out(rt.settings, row)


@attachment_router.delete("/notices/{notice_id}/attachments/{attachment_id}", status_code=204, tags=["notices"])
async def remove_attachment(
    attachment_id: IdPath, notice: NoticeForManager, session: SessionDep, rt: RuntimeDep
) -> Response:
    await attachments.remove_attachment(session, rt.settings, notice, attachment_id)
    return Response(status_code=204)


@attachment_router.get(
    "/notices/{notice_id}/attachments/{attachment_id}",
    response_class=FileResponse,
    tags=["notices"],
    responses={200: {"content": {"image/*": {}, "application/pdf": {}}}},
)
async def get_attachment(
    notice_id: IdPath,
    attachment_id: IdPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    rt: RuntimeDep,
    now: Now,
) -> FileResponse:
    """The file, for the notice's managers and those it targets. Served as what it was checked
    to be, never sniffed, sandboxed; a PDF as a download under its name."""
    row, path = await attachments.attachment_for_viewer(
        session, rt.settings, principal, notice_id, attachment_id, now
    )
    return FileResponse(
        path,
        media_type=row.content_type,
        headers={
            "Content-Disposition": rules.content_disposition(row.kind, row.display_name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )
