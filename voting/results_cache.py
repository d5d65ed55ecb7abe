"""Results documents served from the cache: one query for the poll, then a cache hit.

Building a poll's results costs four queries (options, counters, districts' names; once final,
one more for the names in its evidence, read with the poll's count state) and the suppression
rules' arithmetic, and every phone that opens a poll's results asks for the same
document. It changes only when one of these changes, so the cached copy carries them as its
stamp and is rebuilt when the stamp differs:

- the count's progress: ``CountState.seq`` (one per counted batch) and ``final`` (the breakdown
  published) — read with the poll, in the same query;
- the poll's status, which moves with the clock (upcoming → open → closed) without any write;
- the poll row's ``updated_at`` (an official's edit);
- the language: the document's note is translated, and the options' labels are the English
  ones for a reader of English where officials wrote them (voting/bilingual.py).

Editing an option, in either language, moves its poll's ``updated_at`` in the same transaction
(``voting.poll_cards.touch_poll``). ``RESULTS_CACHE_SECONDS`` bounds anything else — a restore,
SQL behind Django's back — and a cache that fails (Redis down) only costs the rebuild.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import get_language

from voting import evidence, results, tallies
from voting.models import Poll

logger = logging.getLogger(__name__)


def _key(poll_id: int, language: str) -> str:
    # v2: the documents of issue 18 (kind, ranked, scores, evidence); a v1 copy lacks them.
    return f"results:v2:{poll_id}:{language}"


def stamp_of(poll: Poll) -> tuple[Any, ...]:
    """What the document depends on besides the counters' rows, which move only with ``seq``."""
    state = getattr(poll, "count_state", None) if _count_state_loaded(poll) else None
    return (
        poll.updated_at.isoformat(),
        str(poll.status),
        state.seq if state else 0,
        state.final if state else False,
    )


def _count_state_loaded(poll: Poll) -> bool:
    # A reverse one-to-one that select_related found empty raises on access; say "none" instead.
    try:
        poll.count_state  # noqa: B018 - the access is the question
    except Poll.count_state.RelatedObjectDoesNotExist:
        return False
    return True


def _build(poll: Poll) -> dict[str, Any]:
    # The evidence is stored on the count state read with the poll; it appears with ``final``,
    # which is in the stamp, so a cached document never misses it.
    return results.build(poll, tallies.read(poll.pk), evidence=evidence.published(poll))


def document(*, poll: Poll) -> dict[str, Any]:
    """The results document of ``poll`` (loaded with ``select_related("count_state")``)."""
    language = get_language() or settings.LANGUAGE_CODE
    stamp = list(stamp_of(poll))
    key = _key(poll.pk, language)
    try:
        cached = cache.get(key)
    except Exception as exc:
        logger.warning("results cache unavailable: %s", type(exc).__name__)
        return _build(poll)
    if cached is not None and cached.get("stamp") == stamp:
        return cached["document"]
    built = _build(poll)
    try:
        cache.set(key, {"stamp": stamp, "document": built}, settings.RESULTS_CACHE_SECONDS)
    except Exception as exc:
        logger.warning("results cache unavailable: %s", type(exc).__name__)
    return built
