"""A poll as citizens will see it on a phone, built from the very document their app receives.

The preview never draws the poll from the model: it serializes it with the API's own detail card
(``PollDetailCardSerializer``, what ``GET /api/v1/polls/<id>/`` sends every citizen alike) and the
list's card (its cover image), in the language the preview is read in, and shows only what
those documents hold. What the officials typed but citizens would not get does not appear; what
citizens would get does, drafts included (they are never served to citizens yet).

The description is the Markdown the API sends, rendered as the apps render it (core/markdown.py:
raw HTML escaped, so a ``<script>`` in a description is text, never code).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest
from django.utils import translation
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from core.markdown import render as render_markdown
from voting import selectors
from voting.models import Poll
from voting.serializers import PollCardSerializer, PollDetailCardSerializer

SEOUL = ZoneInfo("Asia/Seoul")
LANGUAGES = ("ko", "en")


@dataclass
class Phone:
    """What the phone frame shows, all of it taken from the API's documents."""

    language: str
    document: dict[str, Any]
    cover: dict[str, Any] | None
    description: SafeString
    images: list[dict[str, Any]]
    instructions: str
    opens: str
    closes: str
    status: str
    has_english: bool
    # For the official beside the phone: images citizens' screen readers cannot describe.
    images_without_alt: int = 0


def _has_english(poll: Poll) -> bool:
    # The English a reader of English would get: the poll's, its options' or its category's.
    if poll.title_en.strip() or poll.description_en.strip():
        return True
    if poll.category is not None and poll.category.name_en.strip():
        return True
    return any(o.label_en.strip() or o.description_en.strip() for o in poll.options.all())


def instructions(document: dict[str, Any]) -> str:
    """What the app tells the citizen to do, from the document's kind and limits (active
    language)."""
    kind = document["kind"]
    low, high = document["min_choices"], document["max_choices"]
    if kind == "single":
        return gettext("Choose one option.")
    if kind == "multiple":
        if low == high:
            return gettext("Choose %(n)d options.") % {"n": high}
        if low <= 1:
            return gettext("Choose up to %(max)d options.") % {"max": high}
        return gettext("Choose between %(min)d and %(max)d options.") % {"min": low, "max": high}
    if kind == "ranked":
        if low == high:
            return gettext("Rank %(n)d options, most preferred first.") % {"n": high}
        return gettext("Rank up to %(max)d options, most preferred first.") % {"max": high}
    scale = {"min": document["score_min"], "max": document["score_max"]}
    if document["score_abstain"]:
        return (
            gettext("Score the options from %(min)d to %(max)d. You may leave an option unscored.")
            % scale
        )
    return gettext("Score every option from %(min)d to %(max)d.") % scale


def seoul_time(value: str | None) -> str:
    """An ISO time of the document in Seoul time, as the active language writes dates."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(SEOUL)
    return date_format(moment, "DATETIME_FORMAT")


def phone(*, request: HttpRequest, poll: Poll, language: str) -> Phone:
    """The phone preview of ``poll`` in ``language`` ("ko" or "en"): six queries (the poll with
    its category and outcome, its options, images, districts and groups)."""
    loaded = selectors.poll_detail_card(poll_id=poll.pk)
    assert loaded is not None, "the caller found the poll"
    # The list card's cover: the first cover image, from the images already loaded.
    loaded.cover_images = [image for image in loaded.images.all() if image.is_cover]  # type: ignore[attr-defined]
    context = {"request": request}
    with translation.override(language):
        document = dict(PollDetailCardSerializer(loaded, context=context).data)
        card = PollCardSerializer(loaded, context=context).data
        cover = card["cover_image"]
        cover_url = cover["url"] if cover else None
        images = [image for image in document["images"] if image["url"] != cover_url]
        shown = ([cover] if cover else []) + images
        option_images = [o["image"] for o in document["options"] if o["image"]]
        return Phone(
            language=language,
            document=document,
            cover=cover,
            # core.markdown escapes raw HTML and drops unsafe links: its output is safe as is.
            description=mark_safe(render_markdown(document["description"])),  # noqa: S308
            images=images,
            instructions=instructions(document),
            opens=seoul_time(document["opens_at"]),
            closes=seoul_time(document["closes_at"]),
            status=str(Poll.Status(loaded.status).label),
            has_english=_has_english(loaded),
            images_without_alt=sum(
                1 for image in [*shown, *option_images] if not (image["alt"] or "").strip()
            ),
        )
