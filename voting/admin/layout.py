"""The guided poll form's layout: the fieldsets, and the numbered steps an official fills in order.

1 content (with the description's preview and the poll's images), 2 question and options,
3 audience (with the live estimate), 4 schedule, 5 results. A saved poll's status comes first,
unnumbered. Each fieldset names its step in its ``classes`` ("step-audience"), each inline in
its ``step`` attribute; ``poll_steps`` groups them for the template
(voting/templates/admin/voting/poll/change_form.html).
"""

from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from voting.forms import AUDIENCE_FIELDS, QUESTION_FIELDS

# (key, number, title): the order the form shows them in.
STEPS: tuple[tuple[str, int | None, Promise], ...] = (
    ("status", None, _("Status")),
    ("content", 1, _("Content")),
    ("options", 2, _("Question and options")),
    ("audience", 3, _("Audience")),
    ("schedule", 4, _("Schedule")),
    ("results", 5, _("Results")),
)

FIELDSETS: tuple[tuple[Promise | None, dict[str, Any]], ...] = (
    (
        None,
        {
            "classes": ("step-content",),
            "fields": (
                "title",
                "title_en",
                "description",
                "description_preview",
                "description_en",
                "description_en_preview",
                "category",
                "department",
            ),
        },
    ),
    (_("Question"), {"classes": ("step-options",), "fields": QUESTION_FIELDS}),
    (
        None,
        {"classes": ("step-audience",), "fields": (*AUDIENCE_FIELDS, "audience_estimate")},
    ),
    (None, {"classes": ("step-schedule",), "fields": ("opens_at", "closes_at")}),
    (
        None,
        {"classes": ("step-results",), "fields": ("results_visibility", "results_published_at")},
    ),
)
STATUS_FIELDSET: tuple[Promise | None, dict[str, Any]] = (
    None,
    {
        "classes": ("step-status",),
        "fields": (
            "status_display",
            "participants",
            "owner",
            "published",
            "closed_early_at",
            "links",
        ),
    },
)


@dataclass
class Step:
    key: str
    number: int | None
    title: Promise | str
    fieldsets: list[Any] = field(default_factory=list)
    inlines: list[Any] = field(default_factory=list)


def _step_key(classes: str) -> str:
    for name in classes.split():
        if name.startswith("step-"):
            return name.removeprefix("step-")
    return "other"


def poll_steps(adminform: Any, inline_admin_formsets: list[Any]) -> list[Step]:
    """The form's fieldsets and inlines, grouped by step, in the steps' order; anything without
    a step (a fieldset or inline added later) is shown last, not lost."""
    steps = {key: Step(key, number, title) for key, number, title in STEPS}
    steps["other"] = Step("other", None, _("More"))
    for fieldset in adminform:
        steps.get(_step_key(fieldset.classes), steps["other"]).fieldsets.append(fieldset)
    for inline in inline_admin_formsets:
        key = getattr(inline.opts, "step", "other")
        steps.get(key, steps["other"]).inlines.append(inline)
    return [step for step in steps.values() if step.fieldsets or step.inlines]
