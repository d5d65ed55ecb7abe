"""How the API shows a stored image: its URL and size, and its renditions for phones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models.fields.files import FieldFile
from rest_framework import serializers

from core.media import renditions


class RenditionSerializer(serializers.Serializer[Any]):
    url = serializers.URLField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


def rendition_list(
    *, file: FieldFile, width: int | None, height: int | None, context: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The renditions of ``file`` (smallest first), with absolute URLs when the serializer has
    a request, as DRF's own file fields give them (cached cards are keyed by the host)."""
    if not file or not file.name:
        return []
    request = context.get("request")
    result = []
    for rendition in renditions(name=file.name, width=width, height=height):
        url = file.storage.url(rendition.name)
        result.append(
            {
                "url": request.build_absolute_uri(url) if request is not None else url,
                "width": rendition.width,
                "height": rendition.height,
            }
        )
    return result
