"""Officials' moderation of comments: reported ones first, hidden with a reason the author reads.

Scoping as for polls: a gu's officials see only comments on polls inside their gu
(``voting.scoping``) and on proposals for their gu. Officials hide and show comments again, through
``discussion.services`` (audited); they never edit nor delete what citizens wrote. The author is
shown by the thread's pseudonym only, as citizens see it.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from discussion import services
from discussion.models import Comment, CommentReport
from discussion.serializers import pseudonym
from voting import scoping


def comments_visible_to(user, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
    """The comments an official may moderate."""
    if not (user.is_active and user.is_staff):
        return queryset.none()
    if scoping.is_city_wide(user):
        return queryset
    polls = scoping.polls_visible_to(user).values("pk")
    return queryset.filter(Q(poll_id__in=polls) | Q(proposal__district_id=user.jurisdiction_id))


class HideForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The author reads it; other citizens see only that the comment is hidden."),
    )


class UnhideForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class HiddenFilter(admin.SimpleListFilter):
    title = _("visibility")
    parameter_name = "hidden"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        return (("yes", _("hidden")), ("no", _("shown")))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
        if self.value() == "yes":
            return queryset.filter(hidden_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(hidden_at__isnull=True)
        return queryset


class ReportedFilter(admin.SimpleListFilter):
    title = _("reports")
    parameter_name = "reported"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        return (("yes", _("reported")), ("no", _("not reported")))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
        if self.value() == "yes":
            return queryset.filter(report_count__gt=0)
        if self.value() == "no":
            return queryset.filter(report_count=0)
        return queryset


class SubjectFilter(admin.SimpleListFilter):
    title = _("about")
    parameter_name = "subject"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        return (("poll", _("polls")), ("proposal", _("proposals")))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
        if self.value() == "poll":
            return queryset.filter(poll__isnull=False)
        if self.value() == "proposal":
            return queryset.filter(proposal__isnull=False)
        return queryset


class ReportInline(admin.TabularInline):
    model = CommentReport
    fields = ("reason", "note", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = (
        "excerpt",
        "subject",
        "report_count",
        "like_count",
        "is_hidden_display",
        "created_at",
    )
    list_filter = (ReportedFilter, HiddenFilter, SubjectFilter, "reports__reason", "created_at")
    search_fields = ("body", "poll__title", "proposal__title")
    ordering = ("-report_count", "-created_at", "-id")
    list_select_related = ("poll", "proposal")
    actions = ("hide_comments", "unhide_comments")
    fields = (
        "body",
        "subject",
        "author_pseudonym",
        "parent",
        "created_at",
        "like_count",
        "report_count",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
        "deleted_at",
    )
    readonly_fields = fields
    inlines = [ReportInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Comment]:
        queryset = super().get_queryset(request).select_related("poll", "proposal")
        return comments_visible_to(request.user, queryset).distinct()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Comment | None = None) -> bool:
        return False  # officials hide; only the author deletes

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=_("comment"))
    def excerpt(self, obj: Comment) -> str:
        if obj.deleted_at:
            return gettext("(deleted by its author)")
        return obj.body[:80] + ("…" if len(obj.body) > 80 else "")

    @admin.display(description=_("about"))
    def subject(self, obj: Comment):
        if obj.poll_id:
            url = reverse("admin:voting_poll_change", args=[obj.poll_id])
            return format_html('{}: <a href="{}">{}</a>', gettext("poll"), url, obj.poll)
        try:
            url = reverse("admin:proposals_proposal_change", args=[obj.proposal_id])
        except Exception:  # the proposals admin may not be registered
            return format_html("{}: {}", gettext("proposal"), obj.proposal)
        return format_html('{}: <a href="{}">{}</a>', gettext("proposal"), url, obj.proposal)

    @admin.display(description=_("author"))
    def author_pseudonym(self, obj: Comment) -> str:
        return pseudonym(obj) or "—"

    @admin.display(description=_("hidden"), boolean=True)
    def is_hidden_display(self, obj: Comment) -> bool:
        return obj.hidden_at is not None

    def _moderate(
        self,
        request: HttpRequest,
        queryset: QuerySet[Comment],
        *,
        action: str,
        form_class: type[forms.Form],
        title: str,
        explanation: str,
        submit_label: str,
        apply,
    ) -> TemplateResponse | None:
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            done = 0
            for comment in queryset:
                apply(comment, form.cleaned_data["reason"])
                done += 1
            self.message_user(
                request,
                ngettext("%(count)d comment updated.", "%(count)d comments updated.", done)
                % {"count": done},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "explanation": explanation,
            "submit_label": submit_label,
            "queryset": queryset,
            "form": form,
            "action": action,
            "opts": self.opts,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/discussion/comment/moderate.html", context)

    @admin.action(description=_("Hide the selected comments…"), permissions=["change"])
    def hide_comments(self, request: HttpRequest, queryset: QuerySet[Comment]):
        return self._moderate(
            request,
            queryset,
            action="hide_comments",
            form_class=HideForm,
            title=gettext("Hide comments"),
            explanation=gettext(
                "Say why. Their authors will read the reason; other citizens will see only "
                "that the comment was hidden."
            ),
            submit_label=gettext("Hide"),
            apply=lambda comment, reason: services.hide_comment(
                comment=comment, by=request.user, reason=reason
            ),
        )

    @admin.action(description=_("Show the selected comments again…"), permissions=["change"])
    def unhide_comments(self, request: HttpRequest, queryset: QuerySet[Comment]):
        return self._moderate(
            request,
            queryset,
            action="unhide_comments",
            form_class=UnhideForm,
            title=gettext("Show comments again"),
            explanation=gettext("The comments will be shown to everyone again."),
            submit_label=gettext("Show again"),
            apply=lambda comment, reason: services.unhide_comment(
                comment=comment, by=request.user, reason=reason
            ),
        )
