"""The officials' tool for polls: authoring them, their audience and schedule, their actions.

The form is guided (``voting.admin.layout``: numbered steps in the order an official fills them),
with a Markdown preview and a live audience estimate (``voting.admin.authoring``), compact option
rows (``voting.admin.inlines``) and districts labelled with their gu (``voting.admin.filters``);
voting/static/voting/poll_form.js drives it. The list's actions are ``voting.admin.poll_actions``.

Scoping: every poll page goes through ``scoping.polls_visible_to`` (a gu's officials see only polls
inside their gu), and the districts offered and accepted are ``scoping.targetable_districts``.
Once a poll has ballots its options, kind, choice limits and audience are read-only
(``voting.admin.inlines``). Saving and every action go through the services, which audit them.

Nothing here shows which citizen chose what: participations, ballots and counters are not
registered, and results come only from ``results.build`` (``voting.admin.results``).
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.markdown import render as render_markdown
from districts.services import groups_visible_to
from voting import eligibility, scoping, tallies
from voting.admin.audience import estimate_for
from voting.admin.authoring import authoring_urls
from voting.admin.base import official_of, reverse_or_none
from voting.admin.filters import (
    DepartmentFilter,
    DistrictChoiceField,
    StatusFilter,
    TargetableDistrictsView,
    TargetableDistrictsWidget,
)
from voting.admin.inlines import FROZEN_FIELDS, OptionInline, PollImageInline, frozen
from voting.admin.layout import FIELDSETS, STATUS_FIELDSET, poll_steps
from voting.admin.poll_actions import PollActions
from voting.admin.publishing import lifecycle_links, publishing_urls
from voting.admin.results import poll_links, results_csv, results_page
from voting.admin.results_exports import export_urls
from voting.forms import PollForm
from voting.models import Poll
from voting.services.lifecycle import delete_draft
from voting.services.snapshots import poll_snapshot, record_creation, record_edit


@admin.register(Poll)
class PollAdmin(PollActions):
    form = PollForm
    inlines = [OptionInline, PollImageInline]
    list_display = ("title", "status_display", "participants", "closes_at")
    list_filter = (
        StatusFilter,
        ("districts", admin.RelatedOnlyFieldListFilter),
        "category",
        ("department", DepartmentFilter),
    )
    search_fields = ("title",)
    list_select_related = ("category",)
    autocomplete_fields = ("districts", "groups")
    date_hierarchy = "closes_at"
    # Publishing has its own page with a preview and a confirmation (voting/admin/publishing.py).
    actions = ("close_now", "duplicate", "publish_results_now")
    base_readonly_fields = (
        "status_display",
        "participants",
        "owner",
        "published",
        "closed_early_at",
        "results_published_at",
        "audience_estimate",
        "links",
        "description_preview",
        "description_en_preview",
    )
    # Shown on the add form too: they update as the official types (poll_form.js).
    live_readonly_fields = ("audience_estimate", "description_preview", "description_en_preview")

    class Media:
        js = ("voting/poll_form.js",)
        css = {"all": ("voting/poll_form.css",)}

    # --- Scoping ---

    def get_queryset(self, request: HttpRequest) -> QuerySet[Poll]:
        return scoping.polls_visible_to(official_of(request), super().get_queryset(request))

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        user = official_of(request)
        if db_field.name == "groups":
            # Not only the picker's search: a posted id of another gu's group is refused too.
            kwargs["queryset"] = groups_visible_to(user)
        if db_field.name == "districts":
            kwargs["queryset"] = scoping.targetable_districts(user)
            kwargs["form_class"] = DistrictChoiceField  # "강남구 신사동", not "신사동 (code)"
            kwargs["widget"] = TargetableDistrictsWidget(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if formfield and db_field.name == "districts" and not scoping.is_city_wide(user):
            formfield.error_messages = {
                **formfield.error_messages,
                "invalid_choice": _(
                    "%(value)s is not a district you may target: choose districts inside your gu."
                ),
            }
        return formfield

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        # Most polls ask for one choice: a new poll starts there rather than at a blank kind
        # the official must notice before saving.
        return {"kind": Poll.Kind.SINGLE, **super().get_changeform_initial_data(request)}

    def get_form(self, request: HttpRequest, obj: Poll | None = None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        # A fresh class per call: the user travels with it, not with a shared instance.
        form.user = request.user  # type: ignore[attr-defined]
        return form

    # --- What may be edited ---

    def get_fieldsets(self, request: HttpRequest, obj: Poll | None = None):
        if obj is None:
            hidden = set(self.base_readonly_fields) - set(self.live_readonly_fields)
            return [
                (name, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]})
                for name, opts in FIELDSETS
            ]
        return [STATUS_FIELDSET, *FIELDSETS]

    def get_readonly_fields(self, request: HttpRequest, obj: Poll | None = None):
        readonly = list(self.base_readonly_fields)
        if obj is None:
            return readonly
        if frozen(request, obj):
            readonly += FROZEN_FIELDS
        now = timezone.now()
        if obj.published and obj.opens_at <= now:
            readonly.append("opens_at")  # a poll that has opened keeps its opening
        if obj.published and obj.closes_at <= now:
            readonly.append("closes_at")  # a closed poll is never reopened
        return readonly

    def has_delete_permission(self, request: HttpRequest, obj: Poll | None = None) -> bool:
        # Published polls stay (their ballots and audit log refer to them); drafts may go.
        if obj is not None and obj.published:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request: HttpRequest, obj: Poll) -> None:
        delete_draft(poll=obj, by=official_of(request))

    # --- Saving, audited ---

    def save_model(self, request: HttpRequest, obj: Poll, form, change: bool) -> None:
        if change:
            # The database still holds the state before this edit.
            request._poll_before = poll_snapshot(obj)  # type: ignore[attr-defined]
        else:
            obj.owner = official_of(request)
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        poll = form.instance
        if change:
            before = request._poll_before  # type: ignore[attr-defined]
            record_edit(poll=poll, by=official_of(request), before=before)
        else:
            record_creation(poll=poll, by=official_of(request))

    # --- Columns and read-only fields ---

    def get_changelist_instance(self, request: HttpRequest):
        changelist = super().get_changelist_instance(request)
        # Participants of the whole page in one query, not one per row.
        page = list(changelist.result_list)
        totals = tallies.read_totals(poll.pk for poll in page)
        for poll in page:
            poll._participants = totals.get(poll.pk, 0)
        return changelist

    @admin.display(description=_("status"))
    def status_display(self, obj: Poll) -> str:
        if obj.pk is None:
            return str(Poll.Status.DRAFT.label)
        return str(Poll.Status(obj.status).label)

    @admin.display(description=_("participants"))
    def participants(self, obj: Poll) -> str:
        if obj.pk is None:
            return "0"
        count = getattr(obj, "_participants", None)
        if count is None:
            count = tallies.read_totals([obj.pk]).get(obj.pk, 0)
        return number_format(count, force_grouping=True)

    @admin.display(description=_("audience estimate"))
    def audience_estimate(self, obj: Poll) -> str:
        # Rewritten in place as the audience changes (voting/static/voting/poll_form.js).
        if obj.pk is None:
            text = gettext("Choose the audience: the estimate updates as you do.")
        else:
            viewer = getattr(obj, "_estimate_viewer", None)
            text = estimate_for(viewer, eligibility.Audience.of(obj))
        return format_html('<p id="audience-estimate-live" aria-live="polite">{}</p>', text)

    @admin.display(description=_("preview"))
    def description_preview(self, obj: Poll) -> str:
        return _markdown_preview("markdown-preview", obj.description)

    @admin.display(description=_("English preview"))
    def description_en_preview(self, obj: Poll) -> str:
        return _markdown_preview("markdown-preview-en", obj.description_en)

    def render_change_form(
        self, request: HttpRequest, context, add=False, change=False, form_url="", obj=None
    ):
        if obj is not None:
            obj._estimate_viewer = request.user  # read by audience_estimate() while rendering
        context["poll_steps"] = poll_steps(context["adminform"], context["inline_admin_formsets"])
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description=_("links"))
    def links(self, obj: Poll) -> str:
        if obj.pk is None:
            return "—"
        return format_html_join(
            " · ", '<a href="{}">{}</a>', ((url, label) for label, url in poll_links(obj))
        )

    # --- Pages of their own: results and CSV, scoped district autocomplete ---

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/results/",
                wrap(self.results_view),
                name="{}_{}_results".format(*info),
            ),
            path(
                "<path:object_id>/results/csv/",
                wrap(self.results_csv_view),
                name="{}_{}_results_csv".format(*info),
            ),
            *export_urls(wrap=wrap, poll_for=self._poll_for_results, info=info),
            *authoring_urls(wrap=wrap, model_admin=self),
            *publishing_urls(
                wrap=wrap, poll_for=self._poll_for_results, info=info, model_admin=self
            ),
            path(
                "district-autocomplete/",
                wrap(TargetableDistrictsView.as_view(admin_site=self.admin_site)),
                name="voting_poll_district_autocomplete",
            ),
            *super().get_urls(),
        ]

    def _poll_for_results(self, request: HttpRequest, object_id: str) -> Poll:
        # Officials always see results, whatever the poll's visibility for citizens.
        poll = self.get_object(request, unquote(object_id))
        if poll is None:
            raise Http404(gettext("No such poll."))
        if not self.has_view_permission(request, poll):
            raise PermissionDenied
        return poll

    def results_view(self, request: HttpRequest, object_id: str) -> TemplateResponse:
        poll = self._poll_for_results(request, object_id)
        context = {**self.admin_site.each_context(request), "opts": self.opts}
        return results_page(request, poll, context)

    def results_csv_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return results_csv(self._poll_for_results(request, object_id))

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        extra_context = extra_context or {}
        poll = self.get_object(request, unquote(object_id))
        if poll is not None:
            extra_context["poll_links"] = poll_links(poll)
            extra_context["lifecycle_links"] = lifecycle_links(
                poll, may_change=self.has_change_permission(request, poll)
            )
            extra_context["frozen"] = frozen(request, poll)
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = extra_context or {}
        extra_context["dashboard_overview_url"] = reverse_or_none("voting_dashboard:overview")
        return super().changelist_view(request, extra_context)


def _markdown_preview(element_id: str, text: str) -> str:
    # The same HTML citizens' description becomes (core.markdown: raw HTML escaped by design).
    return format_html(
        '<div id="{}" class="markdown-preview">{}</div>',
        element_id,
        mark_safe(render_markdown(text or "")),  # noqa: S308 - safe by construction
    )
