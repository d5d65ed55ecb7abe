"""Forms of the poll admin: the checks an official gets back in plain words before anything saves.

The model's own ``clean`` (closes after opens, choice limits in order, age range) and field
validators (image type and size) run as usual; what needs the request's user (jurisdiction) or
the options inline (how many options there are) is checked here.
"""

from django import forms
from django.contrib.admin.widgets import AdminFileWidget
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from voting import scoping
from voting.models import Option, Poll, PollImage
from voting.models.polls import MAX_RANKED_OPTIONS

# The question's shape: its kind and limits (voting/questions.py).
QUESTION_FIELDS = (
    "kind",
    "min_choices",
    "max_choices",
    "score_min",
    "score_max",
    "score_abstain",
)
# Who may vote: the admin's "Audience" fieldset (voting/admin/polls.py) shows them in this order.
AUDIENCE_FIELDS = (
    "districts",
    "groups",
    "private",
    "min_age",
    "max_age",
    "min_verification",
    "onsite_only",
)


class PollForm(forms.ModelForm):
    """The poll's own fields. ``user`` is set per request by ``PollAdmin.get_form``."""

    user: User | None = None
    question_fields = QUESTION_FIELDS
    audience_fields = AUDIENCE_FIELDS

    class Meta:
        model = Poll
        fields = [
            "title",
            "title_en",
            "description",
            "description_en",
            "category",
            "department",
            *QUESTION_FIELDS,
            "opens_at",
            "closes_at",
            *AUDIENCE_FIELDS,
            "results_visibility",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("opens_at", "closes_at"):
            widgets = getattr(self.fields.get(name), "widget", None)
            if widgets is not None and len(getattr(widgets, "widgets", ())) == 2:
                # The admin's date and time boxes sit under one legend: each gets its own name.
                label = self.fields[name].label
                date, time = widgets.widgets
                date.attrs["aria-label"] = _("%(field)s: date") % {"field": label}
                time.attrs["aria-label"] = _("%(field)s: time") % {"field": label}
        if "private" in self.fields and self.instance.pk:
            # The way to the poll's codes, where the official decides who is on the list.
            url = reverse("admin:voting_pollinvitation_add") + f"?poll={self.instance.pk}"
            listing = reverse("admin:voting_pollinvitation_changelist")
            self.fields["private"].help_text = format_html(
                '{} <a href="{}">{}</a> · <a href="{}?poll__id__exact={}">{}</a>',
                self.fields["private"].help_text,
                url,
                _("Generate invitation codes"),
                listing,
                self.instance.pk,
                _("Invitation codes of this poll"),
            )

    def clean(self):
        cleaned = super().clean() or {}
        kind = cleaned.get("kind", self.instance.kind if self.instance.pk else None)
        if "kind" in self.fields and kind == Poll.Kind.SINGLE:
            # A single-choice poll takes exactly one option, whatever the limits said.
            cleaned["min_choices"] = cleaned["max_choices"] = 1
        elif kind == Poll.Kind.SCORE and "kind" in self.fields:
            # A score ballot scores options one by one: the choice limits do not apply.
            cleaned["min_choices"] = cleaned["max_choices"] = 1
            low, high = cleaned.get("score_min"), cleaned.get("score_max")
            if low is not None and high is not None and low >= high:
                self.add_error("score_max", _("The highest score must be above the lowest."))
        elif kind in (Poll.Kind.MULTIPLE, Poll.Kind.RANKED) and "min_choices" in self.fields:
            minimum = cleaned.get("min_choices")
            if minimum is not None and minimum < 1:
                self.add_error("min_choices", _("At least one option must be chosen."))
            maximum = cleaned.get("max_choices")
            if kind == Poll.Kind.RANKED and maximum is not None and maximum > MAX_RANKED_OPTIONS:
                self.add_error(
                    "max_choices",
                    _("At most %(n)d options can be ranked.") % {"n": MAX_RANKED_OPTIONS},
                )
        self._check_closing(cleaned.get("closes_at"))
        if "districts" in self.fields and self.user is not None:
            self._check_jurisdiction(cleaned.get("districts"))
        return cleaned

    def _check_closing(self, closes_at) -> None:
        # Ending a published poll early is the audited "Close now" action, not an edit.
        if (
            closes_at is not None
            and self.instance.pk
            and self.instance.published
            and "closes_at" in self.changed_data
            and closes_at <= timezone.now()
        ):
            self.add_error(
                "closes_at",
                _("To end a published poll now, use the “Close now” action in the poll list."),
            )

    def _check_jurisdiction(self, districts) -> None:
        if self.user is None or scoping.is_city_wide(self.user):
            return
        if districts is None:
            # The field itself refused a district (outside the gu): its error says so.
            return
        if not districts:
            self.add_error(
                "districts",
                _(
                    "Choose at least one district inside your gu: an empty list means all of "
                    "Seoul, which only city-wide officials may target."
                ),
            )
            return
        allowed = set(scoping.targetable_districts(self.user).values_list("code", flat=True))
        outside = [district for district in districts if district.pk not in allowed]
        if outside:
            self.add_error(
                "districts",
                _("Outside your gu: %(districts)s.")
                % {"districts": ", ".join(str(district) for district in outside)},
            )


class ThumbnailFileInput(AdminFileWidget):
    """The current image as a thumbnail, not its storage path."""

    template_name = "voting/widgets/thumbnail_file_input.html"


class OptionForm(forms.ModelForm):
    """A compact option row: short descriptions, the position set by the row's place (the
    guided form's drag and drop, voting/static/voting/poll_form.js)."""

    class Meta:
        model = Option
        fields = [
            "label",
            "label_en",
            "description",
            "description_en",
            "image",
            "image_alt",
            "position",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "description_en": forms.Textarea(attrs={"rows": 2}),
            "image": ThumbnailFileInput,
            "position": forms.HiddenInput(attrs={"data-position": ""}),
        }

    def has_changed(self) -> bool:
        # A new row's position comes from its place in the list: a blank row the official never
        # filled is still blank, whatever place it ended up in.
        if self.instance.pk is None:
            return any(name != "position" for name in self.changed_data)
        return super().has_changed()


class PollImageForm(forms.ModelForm):
    class Meta:
        model = PollImage
        fields = ["image", "caption", "alt", "is_cover", "position"]
        widgets = {"image": ThumbnailFileInput}


class OptionFormSet(BaseInlineFormSet):
    """At least two options, and choice limits the options can satisfy."""

    def clean(self) -> None:
        super().clean()
        count = sum(
            1
            for form in self.forms
            if getattr(form, "cleaned_data", None) and not self._should_delete_form(form)
        )
        if count < 2:
            raise ValidationError(
                _("A poll needs at least two options (it has %(count)d).") % {"count": count},
                code="too_few_options",
            )
        poll = self.instance
        if poll.kind == Poll.Kind.RANKED and count > MAX_RANKED_OPTIONS:
            raise ValidationError(
                _("A ranked poll has at most %(n)d options.") % {"n": MAX_RANKED_OPTIONS},
                code="too_many_options",
            )
        if poll.kind == Poll.Kind.RANKED and poll.max_choices and poll.max_choices > count:
            raise ValidationError(
                _(
                    "Citizens may rank up to %(max)d options, but the poll has only %(count)d: "
                    "lower the maximum or add options."
                )
                % {"max": poll.max_choices, "count": count},
                code="too_many_choices",
            )
        if poll.kind == Poll.Kind.MULTIPLE and poll.max_choices and poll.max_choices > count:
            raise ValidationError(
                _(
                    "At most %(max)d choices were allowed, but the poll has only %(count)d "
                    "options: lower the maximum number of choices or add options."
                )
                % {"max": poll.max_choices, "count": count},
                code="too_many_choices",
            )


class PollImageFormSet(BaseInlineFormSet):
    """One cover image at most (the database refuses a second one; say so before it does)."""

    def clean(self) -> None:
        super().clean()
        covers = sum(
            1
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and not self._should_delete_form(form)
            and form.cleaned_data.get("is_cover")
        )
        if covers > 1:
            raise ValidationError(_("Only one image can be the cover."), code="one_cover")
