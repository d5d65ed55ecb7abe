"""Polls' cards — what every citizen sees alike of a poll — served from the cache.

A card (in the list: title, category, cover image, times; in the detail: also the description,
options, images, audience and outcome) is the same for every citizen, and every app asks for
them: serializing them costs more than the query that reads the citizen's own part. So each
card is cached under its poll's ``updated_at`` — the citizen's query reads it anyway — and a
changed poll is simply a new key. What is not on the poll row touches it instead
(``touch_poll``, ``touch_audience``): saving or deleting an image, an option or an outcome,
renaming a category or a group, changing a poll's districts or groups moves ``updated_at`` in
the same transaction, so no reader can cache the old card after the change commits.
``POLL_CARD_CACHE_SECONDS`` bounds anything else (SQL behind Django's back, a restore); a cache
that fails (Redis down) costs only the rebuild.

Cards hold texts chosen by the request's language (the English fields where they are filled in:
voting/bilingual.py) and absolute image URLs (the API's, as DRF builds them from the request), so
the key also carries the language and the scheme and host the request came in on. The English
fields move ``updated_at`` as the Korean ones do: the poll's own on save, options' and categories'
through ``touch_poll``.
"""

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import get_language
from rest_framework.request import Request

from districts.models import Group
from voting import selectors
from voting.models import Category, Option, Outcome, Poll, PollImage
from voting.serializers import PollCardSerializer, PollDetailCardSerializer

logger = logging.getLogger(__name__)


def _key(kind: str, poll_id: int, stamp: str, language: str, base: str) -> str:
    version = hashlib.blake2b(f"{stamp}|{base}".encode(), digest_size=8).hexdigest()
    # v5: detail cards carry the score scale (score_min, score_max, score_abstain); a v4 card
    # cached before lacks them.
    return f"pollcard:v5:{kind}:{poll_id}:{language}:{version}"


def _cached(
    *,
    kind: str,
    stamps: dict[int, str],
    request: Request,
    build: Callable[[list[int]], dict[int, dict[str, Any]]],
) -> dict[int, dict[str, Any]]:
    language = get_language() or settings.LANGUAGE_CODE
    base = request.build_absolute_uri("/")
    keys = {
        poll_id: _key(kind, poll_id, stamp, language, base) for poll_id, stamp in stamps.items()
    }
    try:
        cached: dict[str, Any] | None = cache.get_many(list(keys.values()))
    except Exception as exc:
        logger.warning("poll card cache unavailable: %s", type(exc).__name__)
        cached = None
    found = {
        poll_id: cached[key]
        for poll_id, key in keys.items()
        if cached is not None and key in cached
    }
    missing = [poll_id for poll_id in keys if poll_id not in found]
    if not missing:
        return found
    built = build(missing)
    if cached is not None:
        try:
            cache.set_many(
                {keys[poll_id]: card for poll_id, card in built.items()},
                settings.POLL_CARD_CACHE_SECONDS,
            )
        except Exception as exc:
            logger.warning("poll card cache unavailable: %s", type(exc).__name__)
    return {**found, **built}


def list_cards(*, stamps: dict[int, str], request: Request) -> dict[int, dict[str, Any]]:
    """The list card of each poll in ``stamps`` (poll id → its ``updated_at``, as text): one
    cache round trip, and for the cards missing, one query for the polls and one for their
    covers."""

    def build(poll_ids: list[int]) -> dict[int, dict[str, Any]]:
        polls = selectors.poll_cards(poll_ids=poll_ids)
        data = PollCardSerializer(polls, many=True, context={"request": request}).data
        return {card["id"]: card for card in data}

    return _cached(kind="list", stamps=stamps, request=request, build=build)


def detail_card(*, poll_id: int, stamp: str, request: Request) -> dict[str, Any] | None:
    """The detail card of one poll (None: it was deleted meanwhile): one cache round trip, and
    when it is missing, five queries (the poll with its category and outcome, options, images,
    districts, groups)."""

    def build(poll_ids: list[int]) -> dict[int, dict[str, Any]]:
        poll = selectors.poll_detail_card(poll_id=poll_ids[0])
        if poll is None:
            return {}
        return {poll.pk: PollDetailCardSerializer(poll, context={"request": request}).data}

    return _cached(kind="detail", stamps={poll_id: stamp}, request=request, build=build).get(
        poll_id
    )


def touch_poll(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    """Signal receiver: something shown on polls' cards changed beside the poll rows; their
    ``updated_at`` moves in the same transaction, which renews their cards and results
    documents."""
    now = timezone.now()
    if isinstance(instance, PollImage | Option | Outcome):
        Poll.objects.filter(pk=instance.poll_id).update(updated_at=now)
    elif isinstance(instance, Category):
        Poll.objects.filter(category_id=instance.pk).update(updated_at=now)
    elif isinstance(instance, Group):
        Poll.objects.filter(groups=instance).update(updated_at=now)


def touch_audience(sender: type[Model], instance: Model, action: str, **kwargs: Any) -> None:
    """``m2m_changed`` receiver: a poll's districts or groups changed (from either side)."""
    now = timezone.now()
    if isinstance(instance, Poll):
        if action.startswith("post_"):
            Poll.objects.filter(pk=instance.pk).update(updated_at=now)
    elif action == "pre_clear":  # from the district's or group's side: its polls, before
        link = "groups" if sender is Poll.groups.through else "districts"
        Poll.objects.filter(**{link: instance}).update(updated_at=now)
    elif action.startswith("post_") and kwargs.get("pk_set"):
        Poll.objects.filter(pk__in=kwargs["pk_set"]).update(updated_at=now)


# Saved or deleted, each of these changes what polls' cards show.
TOUCHING = (PollImage, Option, Outcome, Category, Group)
# Deleting one of these first empties a link the touch follows: touched before the deletion.
TOUCHED_BEFORE_DELETE = (Category, Group)
