"""The admin's side of hiding, shared by every hideable model: a list filter, the reason form and
the "hide / show again the selected…" actions with their reason page.

A model admin mixes in ``HideableAdminMixin`` and lists ``"hide_selected", "unhide_selected"``
in its ``actions``. The actions run on the admin's own queryset (so its scoping holds) and call
``hide_object``/``unhide_object``, which a model admin overrides when its decision needs more
checks (a proposal's jurisdiction). Refusals (already hidden, not hidden) are reported per item;
the others are still done.
"""

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.errors import ApiError
from moderation import services
from moderation.models import MAX_HIDDEN_REASON
from moderation.services import MIN_REASON_LENGTH


class HiddenFilter(admin.SimpleListFilter):
    title = _("visibility")
    parameter_name = "hidden"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, Any]]:
        return [("yes", _("hidden")), ("no", _("visible"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(hidden_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(hidden_at__isnull=True)
        return queryset


class ReasonForm(forms.Form):
    """Why an official hides something, or shows it again (``moderation.services`` checks the
    same lengths; the form says so before the service has to)."""

    reason = forms.CharField(
        label=_("Reason"),
        min_length=MIN_REASON_LENGTH,
        max_length=MAX_HIDDEN_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


Apply = Callable[[HttpRequest, Any, str], object]


class HideableAdminMixin:
    """For a ``ModelAdmin`` of a ``moderation.models.Hideable`` model."""

    moderate_template = "admin/moderation/moderate.html"

    def hide_object(self, request: HttpRequest, obj: Any, reason: str) -> object:
        return services.hide(obj=obj, by=official(request), reason=reason)

    def unhide_object(self, request: HttpRequest, obj: Any, reason: str) -> object:
        return services.unhide(obj=obj, by=official(request), reason=reason)

    @admin.display(description=_("hidden"), boolean=True)
    def is_hidden_display(self, obj: Any) -> bool:
        return obj.hidden_at is not None

    @admin.action(
        description=_("Hide the selected %(verbose_name_plural)s…"), permissions=["change"]
    )
    def hide_selected(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        return self._moderate(
            request,
            queryset,
            action="hide_selected",
            title=gettext("Hide"),
            explanation=gettext(
                "Say why. Their authors will read the reason; other citizens will see only "
                "that it was hidden."
            ),
            submit_label=gettext("Hide"),
            apply=self.hide_object,
        )

    @admin.action(
        description=_("Show the selected %(verbose_name_plural)s again…"), permissions=["change"]
    )
    def unhide_selected(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        return self._moderate(
            request,
            queryset,
            action="unhide_selected",
            title=gettext("Show again"),
            explanation=gettext(
                "Say why: they will be shown to everyone again, and the audit log keeps the reason."
            ),
            submit_label=gettext("Show again"),
            apply=self.unhide_object,
        )

    def _moderate(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        *,
        action: str,
        title: str,
        explanation: str,
        submit_label: str,
        apply: Apply,
    ) -> TemplateResponse | None:
        model_admin = cast("admin.ModelAdmin[Any]", self)
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            context = {
                **model_admin.admin_site.each_context(request),
                "title": title,
                "explanation": explanation,
                "submit_label": submit_label,
                "queryset": queryset,
                "form": form,
                "action": action,
                "opts": model_admin.opts,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, self.moderate_template, context)
        done = 0
        refused: list[str] = []
        for obj in queryset:
            try:
                apply(request, obj, form.cleaned_data["reason"])
            except ApiError as exc:
                refused.append(f"“{_excerpt(obj)}”: {exc.detail}")
            else:
                done += 1
        if done:
            model_admin.message_user(
                request,
                ngettext("%(count)d item updated.", "%(count)d items updated.", done)
                % {"count": done},
                messages.SUCCESS,
            )
        if refused:
            model_admin.message_user(
                request,
                gettext("Not changed: %(items)s") % {"items": "; ".join(refused)},
                messages.WARNING,
            )
        return None


def official(request: HttpRequest) -> User:
    """The admin's user: ``admin_site.admin_view`` let only active staff in."""
    return cast(User, request.user)


def _excerpt(obj: Model) -> str:
    text = str(obj)
    return text[:60] + ("…" if len(text) > 60 else "")
