"""Photo intake: recognise the format by content, refuse decompression bombs, and re-encode
without the EXIF location. HEIC (iPhone) is converted to JPEG, which every Mini Program
client can show."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from services.repairs.errors import BadImage, EmptyFile, ImageTooBig, ImageTooLarge

pillow_heif.register_heif_opener()

# Pillow format -> (format written, content type, file extension)
_OUTPUT = {
    "JPEG": ("JPEG", "image/jpeg", "jpg"),
    "MPO": ("JPEG", "image/jpeg", "jpg"),  # multi-picture JPEG from some phones: keep the first
    "PNG": ("PNG", "image/png", "png"),
    "WEBP": ("WEBP", "image/webp", "webp"),
    "HEIF": ("JPEG", "image/jpeg", "jpg"),
}
_GPS_IFD = 0x8825
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
    """The image re-encoded without its GPS data; raises BadImage (and its kinds) or
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
                raise ImageTooBig()
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooBig() from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadImage() from exc
    out_format, content_type, extension = _OUTPUT[fmt]
    exif = image.getexif()
    if _GPS_IFD in exif:
        del exif[_GPS_IFD]
    # Apply the orientation to the pixels, so dropping EXIF cannot turn the photo sideways.
    image = ImageOps.exif_transpose(image) or image
    exif.pop(0x0112, None)
    if out_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buf = io.BytesIO()
    options: dict[str, object] = {"exif": exif.tobytes()}
    if out_format in ("JPEG", "WEBP"):
        options["quality"] = 88
    image.save(buf, format=out_format, **options)
    return CleanImage(buf.getvalue(), content_type, extension, image.width, image.height)
