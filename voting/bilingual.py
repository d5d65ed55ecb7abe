"""Poll content in two languages: Korean, as officials write it, and English where they add it.

A poll's title and description, its options' labels and descriptions, and its category's name
each have an English field beside the Korean one (``title_en``, ``label_en``, ``name_en``…, blank
allowed), as districts and groups already do. A request in English (``Accept-Language: en``,
activated by Django's LocaleMiddleware) reads the English text of each field that is filled in,
and the Korean text of each one that is not, field by field: a poll half translated reads partly
in Korean rather than with blanks. Korean, no header, or any other language reads Korean.

Where the choice is made: the cards (voting/serializers.py, cached per language by
voting/poll_cards.py) and the results document (voting/results.py, cached per language by
voting/results_cache.py). Officials' live frames, exports and notifications stay Korean.
"""

from django.conf import settings
from django.utils.translation import get_language


def reads_english(language: str | None = None) -> bool:
    """Whether a reader in ``language`` (by default the active one) gets the English fields."""
    return (language or get_language() or settings.LANGUAGE_CODE).startswith("en")


def localized(korean: str, english: str, *, language: str | None = None) -> str:
    """``english`` for a reader of English when it holds text; ``korean`` otherwise."""
    if english and english.strip() and reads_english(language):
        return english
    return korean
