"""The poll form's inlines (options, images), and what freezes once a poll has ballots.

Once a poll has ballots its options, kind, choice limits and audience are read-only: they are left
out of the forms, so no POST can change them.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from voting.forms import (
    QUESTION_FIELDS,
    OptionForm,
    OptionFormSet,
    PollImageForm,
    PollImageFormSet,
)
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


class OrderedOptionFormSet(OptionFormSet):
    """New rows start after the existing ones (not all at position 0); the guided form's script
    renumbers every filled row from its place when the form is sent."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        if index is not None and index >= self.initial_form_count():
            kwargs["initial"] = {**kwargs.get("initial", {}), "position": index}
        return kwargs


class OptionInline(admin.StackedInline[Option, Poll]):
    """Compact rows (voting/templates/admin/voting/poll/option_inline.html): label, English
    label, image thumbnail and alt text on one line, descriptions behind a toggle, drag handle
    and up/down buttons instead of a position number."""

    model = Option
    form = OptionForm
    formset = OrderedOptionFormSet
    template = "admin/voting/poll/option_inline.html"
    step = "options"  # where the guided form shows it (voting.admin.layout)
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
        # Four empty rows for a new poll (more with "add an option"); the formset checks that
        # at least two are filled.
        return 0 if obj is not None else 4

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
    form = PollImageForm
    formset = PollImageFormSet
    step = "content"
    fields = ("image", "caption", "alt", "is_cover", "position")
    extra = 0
