"""One cleaner for every text a person writes: comments, proposals, options, officials' reasons.

The text is stored as cleaned (NFC, ``\\n`` line breaks, outer whitespace stripped), so what is
shown, searched and compared is what was checked. Refused, with a 400 naming the field:

* control characters (Cc; ``\\n`` and ``\\t`` are allowed in multi-line text): NUL breaks
  PostgreSQL, escape sequences reach terminals and logs;
* lone surrogates (Cs): they cannot be encoded, so the row could not be written or sent;
* bidirectional overrides and isolates: they reorder text on screen, so a title could show one
  thing and say another. Other format characters (the zero-width joiner in emoji) are fine.
"""

import unicodedata
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _refused(char: str, *, multiline: bool) -> bool:
    category = unicodedata.category(char)
    if category == "Cc":
        return not (multiline and char in "\n\t")
    return category == "Cs" or char in BIDI_CONTROLS


def _error(field: str, message: "str | _StrPromise", code: str) -> serializers.ValidationError:
    return serializers.ValidationError({field: [message]}, code=code)


def clean_text(value: object, *, field: str, max_length: int, multiline: bool = False) -> str:
    """``value`` as stored: NFC, stripped, non-empty, at most ``max_length`` characters, without
    refused characters; otherwise a ``ValidationError`` on ``field`` (codes ``invalid``,
    ``blank``, ``max_length``, ``invalid_characters``)."""
    if not isinstance(value, str):
        raise _error(field, _("Send text."), "invalid")
    text = value.replace("\r\n", "\n").replace("\r", "\n") if multiline else value
    # NFC before measuring: "한" typed as three jamo is one character, as it is shown.
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise _error(field, _("This field may not be blank."), "blank")
    if len(text) > max_length:
        raise _error(field, _("At most %(max)d characters.") % {"max": max_length}, "max_length")
    if any(_refused(char, multiline=multiline) for char in text):
        raise _error(
            field, _("The text contains characters that are not allowed."), "invalid_characters"
        )
    return text
