"""Photo intake, for every service that takes pictures (repairs' photos, notices' images):
recognise the format by content, refuse decompression bombs, decode a few at a time, and
re-encode without metadata (the orientation applied to the pixels). HEIC (iPhone) is
converted to JPEG, which every Mini Program client can show."""

from __future__ import annotations

import asyncio
import io
import warnings
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from services.common.errors import BadRequest, PayloadTooLarge

pillow_heif.register_heif_opener()

# The limits every service's picture uploads default to: bytes as sent, and pixels (25 Mpx
# takes what phones save by default, 12-12.5 Mpx binned or the iPhone 15 Pro's 24.5 Mpx, and
# keeps a decoded picture near 100 MB; more is a decompression bomb or a full-resolution shot).
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 25_000_000


class BadImage(BadRequest):
    code = "unsupported_image"
    message = "仅支持 JPEG、PNG、WebP、HEIC 格式的图片"


class EmptyFile(BadImage):
    code = "empty_file"
    message = "请选择要上传的图片"


class ImageTooBig(BadImage):
    """Too many pixels: a decompression bomb, or a full-resolution 48-200 Mpx shot."""

    code = "image_too_big"

    def __init__(self, max_pixels: int) -> None:
        super().__init__(
            f"图片像素过大（最多 {max_pixels // 10_000} 万像素），请选择压缩后的图片",
            details={"max_pixels": max_pixels},
        )


class ImageTooLarge(PayloadTooLarge):
    """Too many bytes."""

    code = "image_too_large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"图片不能超过 {max_bytes // (1024 * 1024)} MB")

# Pillow format -> (format written, content type, file extension)
_OUTPUT = {
    "JPEG": ("JPEG", "image/jpeg", "jpg"),
    "MPO": ("JPEG", "image/jpeg", "jpg"),  # multi-picture JPEG from some phones: keep the first
    "PNG": ("PNG", "image/png", "png"),
    "WEBP": ("WEBP", "image/webp", "webp"),
    "HEIF": ("JPEG", "image/jpeg", "jpg"),
}
# What survives re-encoding: how the colours are meant (iPhones shoot Display P3; without the
# profile the photo looks washed out) and which palette entry is transparent. Neither says
# anything about the person; everything else (EXIF: camera, serial, time, GPS; XMP; comments;
# PNG text chunks) is dropped.
_KEPT_INFO = ("icc_profile", "transparency")
Image.init()
_OPENERS = [fmt for fmt in _OUTPUT if fmt in Image.OPEN]


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def clean_image(raw: bytes, *, max_bytes: int, max_pixels: int) -> CleanImage:
    """The image re-encoded without metadata; raises BadImage (and its kinds) or
    ImageTooLarge."""
    if len(raw) > max_bytes:
        raise ImageTooLarge(max_bytes)
    if not raw:
        raise EmptyFile()
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that: make it an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(raw), formats=_OPENERS)
            fmt = image.format or ""
            if fmt not in _OUTPUT:
                raise BadImage()
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooBig(max_pixels)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooBig(max_pixels) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadImage() from exc
    out_format, content_type, extension = _OUTPUT[fmt]
    # Apply the orientation to the pixels, so dropping EXIF cannot turn the photo sideways.
    ImageOps.exif_transpose(image, in_place=True)
    if out_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    image.info = {k: v for k, v in image.info.items() if k in _KEPT_INFO}
    buf = io.BytesIO()
    options: dict[str, object] = {k: image.info[k] for k in _KEPT_INFO if k in image.info}
    if out_format in ("JPEG", "WEBP"):
        options["quality"] = 88
        options.pop("transparency", None)
    image.save(buf, format=out_format, **options)
    return CleanImage(buf.getvalue(), content_type, extension, image.width, image.height)


class DecodeSlots:
    """At most `limit` photos decoded at once in this process, the others wait their turn.

    A decoded photo costs width x height x 3-4 bytes (a 25 Mpx one about 100 MB), twice that
    while it is turned upright or converted; without a bound, 20 parallel uploads would hold
    gigabytes. One per app (app.state.decode_slots)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = asyncio.Semaphore(limit)

    async def clean(self, raw: bytes, *, max_bytes: int, max_pixels: int) -> CleanImage:
        await self._free.acquire()
        try:
            work = asyncio.ensure_future(
                asyncio.to_thread(clean_image, raw, max_bytes=max_bytes, max_pixels=max_pixels)
            )
        except BaseException:
            self._free.release()
            raise
        # The slot is freed when the decoding thread ends, not when the request does: a client
        # that hangs up cannot free a slot whose thread still holds the pixels.
        work.add_done_callback(self._done)
        return await asyncio.shield(work)

    def _done(self, work: asyncio.Future[CleanImage]) -> None:
        self._free.release()
        if not work.cancelled():
            work.exception()  # retrieved here when the request that wanted it is gone
