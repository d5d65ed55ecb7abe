"""Image rules for poll and option pictures: what phones can show, at a size they can load."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}


def validate_image(file: File[bytes]) -> None:
    max_bytes = settings.POLL_IMAGE_MAX_BYTES
    if file.size is not None and file.size > max_bytes:
        raise ValidationError(
            _("The image is too large (at most %(mb)d MB).") % {"mb": max_bytes // 1_000_000},
            code="image_too_large",
        )
    position = file.tell() if hasattr(file, "tell") else None
    try:
        file.seek(0)
        with Image.open(file) as image:
            image_format = image.format
            pixels = image.width * image.height
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValidationError(_("The file is not a readable image."), code="image_invalid") from exc
    finally:
        if position is not None:
            file.seek(position)
    if pixels > settings.POLL_IMAGE_MAX_PIXELS:
        # Decoding it (to strip its metadata, core/media.py) would take this many pixels x 4 bytes.
        raise ValidationError(
            _("The image has too many pixels (at most %(mp)d megapixels).")
            % {"mp": settings.POLL_IMAGE_MAX_PIXELS // 1_000_000},
            code="image_too_many_pixels",
        )
    if image_format not in ALLOWED_FORMATS:
        raise ValidationError(
            _("Use a JPEG, PNG or WebP image."), code="image_type", params={"format": image_format}
        )
