"""Serializer fields stricter than DRF's defaults, so the API accepts what its schema says only."""

from typing import Any

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A JSON string, and only that: DRF's CharField would turn ``123`` or ``true`` into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, and only that: not ``"5"``, ``5.0`` or ``true``."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false``, and only those: not ``0``, ``"yes"`` or ``"on"``."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
