"""Invitation codes to private polls, in the admin: generate, print (once), revoke.

Codes are stored only as keyed hashes (voting/invitations.py), so the page that generates them
is the only one that ever shows them: the answer to the "generate" form is the printable sheet,
sent with ``no-store`` so no cache keeps it. Lost codes are revoked and made again.

Powers follow the poll's: an official sees and revokes the codes of the polls in their
jurisdiction (``scoping.polls_visible_to``), generates them where they may change the poll, and
nobody edits or deletes a code (its row is the redemption's record). The list shows whether a
code was redeemed and when, never by whom: the closed list is the officials' to hand out, not
to watch.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from voting import invitations, scoping
from voting.admin.base import official_of
from voting.models import Poll, PollInvitation


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("open", _("not used yet")),
            ("redeemed", _("redeemed")),
            ("revoked", _("revoked")),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[PollInvitation]
    ) -> QuerySet[PollInvitation]:
        value = self.value()
        if value == "open":
            return queryset.filter(revoked_at__isnull=True, redeemed_at__isnull=True)
        if value == "redeemed":
            return queryset.filter(revoked_at__isnull=True, redeemed_at__isnull=False)
        if value == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class GenerateForm(forms.Form):
    poll = forms.ModelChoiceField(
        label=_("Poll"),
        queryset=Poll.objects.none(),
        help_text=_("Private polls you may change."),
    )
    number = forms.IntegerField(
        label=_("Number of codes"), min_value=1, max_value=invitations.MAX_BATCH, initial=20
    )
    label = forms.CharField(
        label=_("Label"),
        max_length=100,
        required=False,
        help_text=_("Who the codes are for, e.g. “3rd floor meeting room”; printed with them."),
    )

    def __init__(self, *args: Any, polls: QuerySet[Poll], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["poll"].queryset = polls  # type: ignore[attr-defined]


@admin.register(PollInvitation)
class PollInvitationAdmin(admin.ModelAdmin):
    list_display = ("label_display", "poll", "state", "created_at", "redeemed_at", "revoked_at")
    list_filter = (("poll", admin.RelatedOnlyFieldListFilter), StateFilter)
    search_fields = ("label", "poll__title")
    list_select_related = ("poll",)
    actions = ("revoke_selected",)
    fields = ("poll", "label", "state", "created_by", "created_at", "redeemed_at", "revoked_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[PollInvitation]:
        polls = scoping.polls_visible_to(official_of(request)).values("pk")
        return super().get_queryset(request).filter(poll_id__in=polls)

    # A code's powers are its poll's: to see them, to make and revoke them.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return official_of(request).has_perm("voting.view_poll")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return official_of(request).has_perm("voting.change_poll")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Nothing of a code is edited: its page is read-only; revoking is the list's action.
        return obj is None and official_of(request).has_perm("voting.change_poll")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("label"), ordering="label")
    def label_display(self, obj: PollInvitation) -> str:
        return obj.label or "—"

    @admin.display(description=_("state"))
    def state(self, obj: PollInvitation) -> str:
        if obj.revoked_at is not None:
            return gettext("revoked")
        if obj.redeemed_at is not None:
            return gettext("redeemed")
        return gettext("not used yet")

    @admin.action(description=_("Revoke the selected codes"), permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[PollInvitation]) -> None:
        # The queryset is this admin's, so already limited to the official's polls.
        count = invitations.revoke(invitations=queryset, by=official_of(request))
        self.message_user(
            request,
            ngettext("%(n)d code revoked.", "%(n)d codes revoked.", count) % {"n": count},
            messages.SUCCESS,
        )

    # --- Generating: the add page, whose answer is the printable sheet -----------------------

    def _polls(self, request: HttpRequest) -> QuerySet[Poll]:
        official = official_of(request)
        return scoping.polls_visible_to(official, Poll.objects.filter(private=True)).order_by(
            "-created_at"
        )

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        polls = self._polls(request)
        if request.method == "POST":
            form = GenerateForm(request.POST, polls=polls)
            if form.is_valid():
                return self._printable(request, form)
        else:
            form = GenerateForm(initial={"poll": request.GET.get("poll")}, polls=polls)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "title": gettext("Generate invitation codes"),
        }
        return TemplateResponse(request, "admin/voting/pollinvitation/generate.html", context)

    def _printable(self, request: HttpRequest, form: GenerateForm) -> HttpResponse:
        poll = form.cleaned_data["poll"]
        label = form.cleaned_data["label"]
        codes = invitations.create_invitations(
            poll=poll, n=form.cleaned_data["number"], label=label, created_by=official_of(request)
        )
        context = {"poll": poll, "label": label, "codes": codes}
        response = TemplateResponse(request, "admin/voting/pollinvitation/printable.html", context)
        # Shown once: no cache, no back-button copy.
        response["Cache-Control"] = "no-store"
        return response
