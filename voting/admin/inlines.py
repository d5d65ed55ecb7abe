"""The poll form's inlines (options, images), and what freezes once a poll has ballots.

Once a poll has ballots its options, kind, choice limits and audience are read-only: they are left
out of the forms, so no POST can change them.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from voting.forms import QUESTION_FIELDS, OptionFormSet, PollImageFormSet
from voting.models import Option, Poll, PollImage
from voting.services.lifecycle import has_ballots

# Changing these after the first ballot would falsify the ballots already cast.
FROZEN_FIELDS = (
    *QUESTION_FIELDS,
    "districts",
    "groups",
    "min_age",
    "max_age",
    "min_verification",
    # Switching a poll private (or public) after ballots would hide it from people who voted,
    # or show it to people it was kept from.
    "private",
    "onsite_only",
)
# An option's English label is what readers of English voted for, as the Korean one is.
FROZEN_OPTION_FIELDS = ("label", "label_en", "image")


def frozen(request: HttpRequest, poll: Poll | None) -> bool:
    """Whether ``poll`` has ballots; asked once per request and poll."""
    if poll is None or poll.pk is None:
        return False
    known: dict[int, bool] = request.__dict__.setdefault("_voting_has_ballots", {})
    if poll.pk not in known:
        known[poll.pk] = has_ballots(poll)
    return known[poll.pk]


class OptionInline(admin.TabularInline[Option, Poll]):
    model = Option
    formset = OptionFormSet
    fields = (
        "label",
        "label_en",
        "description",
        "description_en",
        "image",
        "image_alt",
        "position",
    )
    extra = 0

    def get_extra(self, request: HttpRequest, obj: Poll | None = None, **kwargs: Any) -> int:
        # Two empty rows for a new poll; the formset checks that at least two are filled.
        return 0 if obj is not None else 2

    def get_readonly_fields(self, request: HttpRequest, obj: Poll | None = None) -> tuple[str, ...]:
        if frozen(request, obj):
            return FROZEN_OPTION_FIELDS
        return ()

    def has_add_permission(self, request: HttpRequest, obj: Poll | None = None) -> bool:
        return not frozen(request, obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Poll | None = None) -> bool:
        return not frozen(request, obj) and super().has_delete_permission(request, obj)


class PollImageInline(admin.TabularInline[PollImage, Poll]):
    model = PollImage
    formset = PollImageFormSet
    fields = ("image", "caption", "alt", "is_cover", "position")
    extra = 0
