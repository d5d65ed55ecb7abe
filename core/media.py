"""Uploaded media: images cleaned of metadata and renamed, renditions for phones, private files.

Every uploaded image is decoded and re-encoded from its pixels alone (``clean_image``): EXIF (GPS,
camera, dates), XMP, IPTC, ICC profiles and comments, PNG text chunks and the client's file name
never reach storage. The EXIF orientation is applied first, so photos stay upright once the tag
is gone. The stored name is random, its extension the one of the format Pillow detected.

Renditions (``MEDIA_RENDITION_WIDTHS``, never wider than the original) are WebP, written next to
the original when it is saved, under a name derived from it: the API computes their URLs and
sizes from the original's name and size, with no storage call per read (an S3 ``exists`` per
image would cost a round trip on every uncached card). Making them on upload costs the uploader
a fraction of a second once; made lazily, the first phone would wait, and two would race.

Private files (``storages["private"]``) are never public: their ``url()`` is signed and
expires — an S3 presigned URL, or on the filesystem a link to ``serve_private`` carrying a
``django.core.signing`` token. Whoever hands such a URL out checks the permission first.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.signals import setting_changed
from django.db import models
from django.http import FileResponse, HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.functional import LazyObject, cached_property, empty
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
RENDITION_FORMAT = "WEBP"
_SIGNING_SALT = "core.media.private"


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image holding only the pixels of ``image`` (upright): no info, no profile."""
    try:
        upright = ImageOps.exif_transpose(image) or image
    except (SyntaxError, ValueError, OSError, KeyError, TypeError):
        # A malformed EXIF block cannot say which way is up; it is dropped all the same.
        upright = image
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    mode = "RGBA" if has_alpha else "RGB"
    converted = upright if upright.mode == mode else upright.convert(mode)
    # A new image holds nothing but what is pasted into it: no metadata can ride along (and no
    # third copy of a large bitmap, as tobytes/frombytes would make).
    clean = Image.new(mode, converted.size)
    clean.paste(converted)
    return clean


def _encode(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    if image_format == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=88, optimize=True, progressive=True)
    elif image_format == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=85, method=4)
    return out.getvalue()


def clean_image(*, data: BinaryIO) -> CleanImage:
    """The image in ``data`` re-encoded from its pixels, in its own format (JPEG, PNG, WebP).

    ``data`` has passed ``core.images.validate_image`` (format and size are checked there)."""
    data.seek(0)
    with Image.open(data) as original:
        image_format = original.format if original.format in EXTENSIONS else "JPEG"
        pixels = _pixels_only(original)
    return CleanImage(
        content=_encode(pixels, image_format),
        extension=EXTENSIONS[image_format],
        width=pixels.width,
        height=pixels.height,
    )


def rendition_sizes(*, width: int, height: int) -> list[tuple[int, int]]:
    """The renditions an image of this size gets: each configured width below its own."""
    return [
        (target, max(1, round(height * target / width)))
        for target in sorted(settings.MEDIA_RENDITION_WIDTHS)
        if target < width
    ]


def rendition_name(name: str, width: int) -> str:
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}.w{width}.{EXTENSIONS[RENDITION_FORMAT]}"))


def renditions(*, name: str, width: int | None, height: int | None) -> list[Rendition]:
    """The renditions of the stored image ``name`` (none when its size is unknown)."""
    if not name or not width or not height:
        return []
    return [
        Rendition(name=rendition_name(name, w), width=w, height=h)
        for w, h in rendition_sizes(width=width, height=height)
    ]


def save_renditions(*, storage: Storage, name: str, content: bytes) -> list[Rendition]:
    with Image.open(io.BytesIO(content)) as image:
        image.load()
        made = []
        for w, h in rendition_sizes(width=image.width, height=image.height):
            small = image.resize((w, h), Image.Resampling.LANCZOS)
            target = rendition_name(name, w)
            saved = storage.save(target, ContentFile(_encode(small, RENDITION_FORMAT)))
            made.append(Rendition(name=saved, width=w, height=h))
    return made


class CleanImageField(models.ImageField):
    """An ImageField whose uploads are cleaned (``clean_image``), renamed at random and given
    renditions when the row is saved, whatever saved it (admin, API, shell).

    The model keeps the size in ``<field>_width`` and ``<field>_height`` (set here, not through
    ImageField's own dimension fields: those read the file back from storage on every load)."""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        file = getattr(model_instance, self.attname)
        if file and not file._committed:
            cleaned = clean_image(data=file)
            random_name = f"{secrets.token_hex(16)}.{cleaned.extension}"
            name = self.storage.save(
                self.generate_filename(model_instance, random_name),
                ContentFile(cleaned.content),
                max_length=self.max_length,
            )
            setattr(model_instance, self.attname, name)
            setattr(model_instance, f"{self.attname}_width", cleaned.width)
            setattr(model_instance, f"{self.attname}_height", cleaned.height)
            save_renditions(storage=self.storage, name=name, content=cleaned.content)
        return super().pre_save(model_instance, add)


# --- Private files -------------------------------------------------------------------------------


class PrivateFileSystemStorage(FileSystemStorage):
    """Private files on the filesystem, outside MEDIA_ROOT (nothing serves them as they lie):
    ``url()`` is a link to ``serve_private`` with a signed token that expires."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        setting_changed.connect(self._forget_location)

    @cached_property
    def base_location(self) -> str:
        given = getattr(self, "_location", None)
        return str(self._value_or_setting(given, settings.PRIVATE_MEDIA_ROOT))

    def _forget_location(self, *, setting: str, **kwargs: Any) -> None:
        if setting == "PRIVATE_MEDIA_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)

    def url(self, name: str | None) -> str:
        token = signing.dumps(name, salt=_SIGNING_SALT, compress=True)
        return reverse("private-media", kwargs={"token": token})


if TYPE_CHECKING:
    _LazyStorage = LazyObject[Storage]
else:
    _LazyStorage = LazyObject


class _PrivateStorage(_LazyStorage):
    def _setup(self) -> None:
        self._wrapped = storages["private"]


_private = _PrivateStorage()


def private_storage() -> Storage:
    """The storage of private files (``Outcome.attachment``), as a callable for migrations."""
    return _private  # type: ignore[return-value]


def _reset_private(*, setting: str, **kwargs: Any) -> None:
    if setting == "STORAGES":
        _private._wrapped = empty  # type: ignore[assignment]  # LazyObject's own sentinel


setting_changed.connect(_reset_private)


def _refused(code: str, detail: str, status: int) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


def serve_private(request: HttpRequest, token: str) -> HttpResponseBase:
    """A private file on the filesystem, for a signed token younger than
    ``PRIVATE_MEDIA_URL_SECONDS``; anything else is a 403."""
    try:
        name = signing.loads(token, salt=_SIGNING_SALT, max_age=settings.PRIVATE_MEDIA_URL_SECONDS)
    except signing.SignatureExpired:
        return _refused("link_expired", _("This link has expired."), 403)
    except signing.BadSignature:
        return _refused("link_invalid", _("This link is not valid."), 403)
    storage = private_storage()
    if not isinstance(name, str) or not storage.exists(name):
        return _refused("not_found", _("Not found."), 404)
    response = FileResponse(
        storage.open(name), as_attachment=True, filename=PurePosixPath(name).name
    )
    response["Cache-Control"] = "private, no-store"
    return response


def clean_stored(*, instance: models.Model, field: CleanImageField) -> bool:
    """Clean an image stored before uploads were cleaned (``manage.py clean_media``): the same
    as a new upload (a random name, renditions, its size), then the old file is deleted, as it
    may hold a GPS position. False: nothing to do (no image, or already cleaned)."""
    file = getattr(instance, field.attname)
    if not file or getattr(instance, f"{field.attname}_width") is not None:
        return False
    old = file.name
    with file.storage.open(old) as stored:
        content = stored.read()
    setattr(instance, field.attname, ContentFile(content, name=PurePosixPath(old).name))
    instance.save(
        update_fields=[field.attname, f"{field.attname}_width", f"{field.attname}_height"]
    )
    file.storage.delete(old)
    return True
