"""The officials' tool: authoring polls, their audience and schedule, actions, results, audit log.

Scoping: every poll page goes through ``scoping.polls_visible_to`` (a gu's officials see only polls
inside their gu), and the districts offered and accepted are ``scoping.targetable_districts``.
Once a poll has ballots its options, kind, choice limits and audience are read-only: they are left
out of the forms, so no POST can change them.

Nothing here shows which citizen chose what: participations, ballots and counters are not
registered, and results come only from ``results.build`` (small cells suppressed).
"""

import csv
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Gender, Verification
from core.errors import ApiError
from districts.models import Group
from districts.services import groups_visible_to
from voting import eligibility, results, scoping, services, tallies
from voting.forms import OptionFormSet, PollForm, PollImageFormSet
from voting.models import AuditEntry, Category, Option, Outcome, Poll, PollImage

# Changing these after the first ballot would falsify the ballots already cast.
FROZEN_FIELDS = (
    "kind",
    "min_choices",
    "max_choices",
    "districts",
    "groups",
    "min_age",
    "max_age",
    "min_verification",
)
FROZEN_OPTION_FIELDS = ("label", "image")


def _frozen(request: HttpRequest, poll: Poll | None) -> bool:
    """Whether ``poll`` has ballots; asked once per request and poll."""
    if poll is None or poll.pk is None:
        return False
    known = request.__dict__.setdefault("_voting_has_ballots", {})
    if poll.pk not in known:
        known[poll.pk] = services.has_ballots(poll)
    return known[poll.pk]


def _reverse_or_none(name: str, *args) -> str | None:
    """A URL of the live dashboards, which live in their own module and may not be installed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


# --- Inlines ---------------------------------------------------------------------------------


class OptionInline(admin.TabularInline):
    model = Option
    formset = OptionFormSet
    fields = ("label", "description", "image", "image_alt", "position")
    extra = 0

    def get_extra(self, request: HttpRequest, obj: Poll | None = None, **kwargs) -> int:
        # Two empty rows for a new poll; the formset checks that at least two are filled.
        return 0 if obj is not None else 2

    def get_readonly_fields(self, request: HttpRequest, obj: Poll | None = None):
        if _frozen(request, obj):
            return FROZEN_OPTION_FIELDS
        return ()

    def has_add_permission(self, request: HttpRequest, obj: Poll | None = None) -> bool:
        return not _frozen(request, obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Poll | None = None) -> bool:
        return not _frozen(request, obj) and super().has_delete_permission(request, obj)


class PollImageInline(admin.TabularInline):
    model = PollImage
    formset = PollImageFormSet
    fields = ("image", "caption", "alt", "is_cover", "position")
    extra = 0


# --- List filters ----------------------------------------------------------------------------


class StatusFilter(admin.SimpleListFilter):
    """Draft / upcoming / open / closed, computed in the query from the schedule."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        return Poll.Status.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Poll]) -> QuerySet[Poll]:
        now = timezone.now()
        value = self.value()
        if value == Poll.Status.DRAFT:
            return queryset.filter(published=False)
        if value == Poll.Status.UPCOMING:
            return queryset.filter(published=True, opens_at__gt=now)
        if value == Poll.Status.OPEN:
            return queryset.filter(published=True, opens_at__lte=now, closes_at__gt=now)
        if value == Poll.Status.CLOSED:
            return queryset.filter(published=True, closes_at__lte=now)
        return queryset


# --- District autocomplete limited to what the official may target ----------------------------


class TargetableDistrictsView(AutocompleteJsonView):
    """The admin's autocomplete, offering only the districts the official may target."""

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        targetable = scoping.targetable_districts(self.request.user).values("pk")
        return queryset.filter(pk__in=targetable)


class TargetableDistrictsWidget(AutocompleteSelectMultiple):
    def get_url(self) -> str:
        return reverse(f"{self.admin_site.name}:voting_poll_district_autocomplete")


# --- Results, as tables for the page and the CSV ----------------------------------------------


@dataclass
class ResultsTable:
    key: str
    title: str
    header: list[str]
    # A cell is a number, a text, or None where the number is suppressed.
    rows: list[list[object]] = field(default_factory=list)


def _percent(share: float | None) -> str | None:
    return None if share is None else f"{share * 100:.1f}%"


def results_tables(document: dict) -> list[ResultsTable]:
    """``results.build``'s document as tables; suppressed numbers stay None."""
    labels = [option["label"] for option in document["options"]]
    tables = [
        ResultsTable(
            key="options",
            title=gettext("Options"),
            header=[gettext("Option"), gettext("Votes"), gettext("Share")],
            rows=[
                [option["label"], option["votes"], _percent(option["share"])]
                for option in document["options"]
            ],
        )
    ]
    breakdown = document["breakdown"]
    gu = ResultsTable(
        key="gu",
        title=gettext("By gu"),
        header=[gettext("Gu"), gettext("Code"), gettext("Participants"), *labels],
    )
    for cell in breakdown["gu"]:
        gu.rows.append([cell["name"], cell["code"] or "", cell["total"], *_votes(cell)])
    age = ResultsTable(
        key="age",
        title=gettext("By age band"),
        header=[gettext("Age band"), gettext("Participants"), *labels],
    )
    for cell in breakdown["age_band"]:
        age.rows.append([cell["label"], cell["total"], *_votes(cell)])
    gender = ResultsTable(
        key="gender",
        title=gettext("By gender"),
        header=[gettext("Gender"), gettext("Participants"), *labels],
    )
    genders = dict(Gender.choices)
    for cell in breakdown["gender"]:
        name = genders.get(cell["gender"], gettext("unknown"))
        gender.rows.append([str(name), cell["total"], *_votes(cell)])
    return [*tables, gu, age, gender]


def _votes(cell: dict) -> list[int | None]:
    return [option["votes"] for option in cell["options"]]


def _csv_text(value: object) -> object:
    """Text cells that a spreadsheet would run as a formula are quoted with a leading '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# --- Polls -----------------------------------------------------------------------------------


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    form = PollForm
    inlines = [OptionInline, PollImageInline]
    list_display = ("title", "status_display", "participants", "closes_at")
    list_filter = (
        StatusFilter,
        ("districts", admin.RelatedOnlyFieldListFilter),
        "category",
        "department",
    )
    search_fields = ("title",)
    list_select_related = ("category",)
    autocomplete_fields = ("districts", "groups")
    date_hierarchy = "closes_at"
    actions = ("publish", "close_now", "duplicate", "publish_results_now")
    base_readonly_fields = (
        "status_display",
        "participants",
        "owner",
        "published",
        "closed_early_at",
        "results_published_at",
        "audience_estimate",
        "links",
    )

    fieldsets_text = (
        (_("Text"), {"fields": ("title", "description", "category", "department")}),
        (_("Question"), {"fields": ("kind", "min_choices", "max_choices")}),
        (_("Schedule"), {"fields": ("opens_at", "closes_at")}),
        (
            _("Audience"),
            {
                "fields": (
                    "districts",
                    "groups",
                    "min_age",
                    "max_age",
                    "min_verification",
                    "audience_estimate",
                )
            },
        ),
        (_("Results"), {"fields": ("results_visibility", "results_published_at")}),
    )
    fieldset_status = (
        _("Status"),
        {
            "fields": (
                "status_display",
                "participants",
                "owner",
                "published",
                "closed_early_at",
                "links",
            )
        },
    )

    # --- Scoping ---

    def get_queryset(self, request: HttpRequest) -> QuerySet[Poll]:
        return scoping.polls_visible_to(request.user, super().get_queryset(request))

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "groups":
            # Not only the picker's search: a posted id of another gu's group is refused too.
            kwargs["queryset"] = groups_visible_to(request.user)
        if db_field.name == "districts":
            kwargs["queryset"] = scoping.targetable_districts(request.user)
            kwargs["widget"] = TargetableDistrictsWidget(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "districts" and not scoping.is_city_wide(request.user):
            formfield.error_messages = {
                **formfield.error_messages,
                "invalid_choice": _(
                    "%(value)s is not a district you may target: choose districts inside your gu."
                ),
            }
        return formfield

    def get_form(self, request: HttpRequest, obj: Poll | None = None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        # A fresh class per call: the user travels with it, not with a shared instance.
        form.user = request.user
        return form

    # --- What may be edited ---

    def get_fieldsets(self, request: HttpRequest, obj: Poll | None = None):
        if obj is None:
            return [
                (
                    name,
                    {"fields": [f for f in opts["fields"] if f not in self.base_readonly_fields]},
                )
                for name, opts in self.fieldsets_text
            ]
        return [*self.fieldsets_text, self.fieldset_status]

    def get_readonly_fields(self, request: HttpRequest, obj: Poll | None = None):
        readonly = list(self.base_readonly_fields)
        if obj is None:
            return readonly
        if _frozen(request, obj):
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
        services.delete_draft(poll=obj, by=request.user)

    # --- Saving, audited ---

    def save_model(self, request: HttpRequest, obj: Poll, form, change: bool) -> None:
        if change:
            # The database still holds the state before this edit.
            request._poll_before = services.poll_snapshot(obj)
        else:
            obj.owner = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        poll = form.instance
        if change:
            services.record_edit(poll=poll, by=request.user, before=request._poll_before)
        else:
            services.record_creation(poll=poll, by=request.user)

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
            return Poll.Status.DRAFT.label
        return Poll.Status(obj.status).label

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
        if obj.pk is None:
            return gettext("Shown once the poll is saved.")
        viewer = getattr(obj, "_estimate_viewer", None)
        if (
            viewer is None or not viewer.has_perm("accounts.view_phone_number")
        ) and obj.groups.filter(kind=Group.Kind.MANAGED).exists():
            # Officials upload managed groups' phone numbers: an estimate over such a group would
            # tell one who may not see phone numbers which uploaded numbers have accounts (a
            # one-number group reaches 1 or 0), whatever rounding is applied to it.
            return gettext(
                "The audience includes a managed group: the estimate is shown to officials "
                "who may see phone numbers."
            )
        return audience_estimate_text(obj)

    def render_change_form(self, request: HttpRequest, context, *args, obj=None, **kwargs):
        if obj is not None:
            obj._estimate_viewer = request.user  # read by audience_estimate() while rendering
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

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
        document = results.build(poll, tallies.read(poll.pk))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Results: %(title)s") % {"title": poll.title},
            "poll": poll,
            "original": poll,
            "status": Poll.Status(document["status"]).label,
            "total": document["total"],
            "note": document["note"],
            "tables": results_tables(document),
            "min_cell": settings.RESULTS_MIN_CELL,
            "batch_min": settings.BALLOT_BATCH_MIN,
            "csv_url": reverse("admin:voting_poll_results_csv", args=[poll.pk]),
            "dashboard_url": _reverse_or_none("voting_dashboard:poll", poll.pk),
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/voting/poll/results.html", context)

    def results_csv_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        poll = self._poll_for_results(request, object_id)
        document = results.build(poll, tallies.read(poll.pk))
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="poll-{poll.pk}-results.csv"'
        response.write("\ufeff")  # the BOM: Excel then reads the Korean as UTF-8
        writer = csv.writer(response)
        suppressed = gettext("suppressed")
        writer.writerow([gettext("Poll"), _csv_text(poll.title)])
        writer.writerow([gettext("Status"), Poll.Status(document["status"]).label])
        total = document["note"] if document["withheld"] else document["total"]
        writer.writerow([gettext("Participants"), total])
        writer.writerow([gettext("Exported at"), timezone.localtime().isoformat()])
        for table in results_tables(document):
            writer.writerow([])
            writer.writerow([table.title])
            writer.writerow([_csv_text(h) for h in table.header])
            for row in table.rows:
                writer.writerow([suppressed if cell is None else _csv_text(cell) for cell in row])
        return response

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        extra_context = extra_context or {}
        poll = self.get_object(request, unquote(object_id))
        if poll is not None:
            extra_context["poll_links"] = poll_links(poll)
            extra_context["frozen"] = _frozen(request, poll)
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = extra_context or {}
        extra_context["dashboard_overview_url"] = _reverse_or_none("voting_dashboard:overview")
        return super().changelist_view(request, extra_context)

    # --- Actions (each calls the service, which writes the audit entry) ---

    def _report(self, request: HttpRequest, poll: Poll, text: str, level=messages.SUCCESS):
        self.message_user(request, f"“{poll.title}”: {text}", level)

    def _attempt(self, request: HttpRequest, poll: Poll, service, done: str) -> None:
        try:
            service(poll=poll, by=request.user)
        except ApiError as exc:
            self._report(request, poll, str(exc.detail), messages.ERROR)
        else:
            self._report(request, poll, done)

    @admin.action(description=_("Publish the selected polls"), permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        for poll in queryset:
            if poll.published:
                self._report(request, poll, gettext("already published."), messages.INFO)
                continue
            self._attempt(request, poll, services.publish_poll, gettext("published."))

    @admin.action(description=_("Close the selected polls now"), permissions=["change"])
    def close_now(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        for poll in queryset:
            self._attempt(request, poll, services.close_poll, gettext("closed."))

    @admin.action(description=_("Duplicate as a new draft"), permissions=["add"])
    def duplicate(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        for poll in queryset:
            copy = services.duplicate_poll(poll=poll, by=request.user)
            url = reverse("admin:voting_poll_change", args=[copy.pk])
            self.message_user(
                request,
                format_html(
                    '“{}”: {} <a href="{}">{}</a>',
                    poll.title,
                    gettext("duplicated as a new draft:"),
                    url,
                    copy.title,
                ),
                messages.SUCCESS,
            )

    @admin.action(
        description=_("Publish the results of the selected polls"), permissions=["change"]
    )
    def publish_results_now(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        for poll in queryset:
            if poll.results_visibility != Poll.ResultsVisibility.OFFICIALS:
                self._report(
                    request,
                    poll,
                    gettext("its results are shown to citizens by its schedule (%(rule)s).")
                    % {"rule": poll.get_results_visibility_display()},
                    messages.WARNING,
                )
                continue
            if poll.results_published_at is not None:
                self._report(request, poll, gettext("results already published."), messages.INFO)
                continue
            self._attempt(request, poll, services.publish_results, gettext("results published."))


def poll_links(poll: Poll) -> list[tuple[str, str]]:
    """(label, url) of the poll's results page, its CSV and its live dashboard (if installed)."""
    links = [
        (gettext("Results"), reverse("admin:voting_poll_results", args=[poll.pk])),
        (gettext("Results (CSV)"), reverse("admin:voting_poll_results_csv", args=[poll.pk])),
    ]
    dashboard = _reverse_or_none("voting_dashboard:poll", poll.pk)
    if dashboard:
        links.append((gettext("Live dashboard"), dashboard))
    return links


def audience_estimate_text(poll: Poll) -> str:
    """ "Reaches N registered citizens (M phone-verified)", worded with the poll's minimum level."""
    counts = eligibility.audience_estimate(poll)
    values = {
        "registered": number_format(counts["registered"], force_grouping=True),
        "verified": number_format(counts["verified"], force_grouping=True),
    }
    if poll.min_verification >= Verification.RESIDENT:
        text = gettext(
            "Reaches %(registered)s registered citizens (%(verified)s resident-verified)."
        )
    elif poll.min_verification >= Verification.PHONE:
        text = gettext("Reaches %(registered)s registered citizens (%(verified)s phone-verified).")
    else:
        text = gettext("Reaches %(registered)s registered citizens (%(verified)s may vote).")
    return text % values


# --- Audit log -------------------------------------------------------------------------------


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only, and only the services write it."""

    list_display = (
        "seq",
        "at",
        "actor_name",
        "action",
        "subject_type",
        "subject_id",
        "poll_title",
    )
    list_filter = ("action", "subject_type")
    search_fields = ("poll_title", "actor_name")
    date_hierarchy = "at"
    fields = (
        "seq",
        "at",
        "actor_name",
        "action",
        "subject_type",
        "subject_id",
        "poll_link",
        "poll_title",
        "changes_pretty",
        # The chain (voting/audit.py): `manage.py verify_audit` checks it.
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        queryset = super().get_queryset(request)
        if scoping.is_city_wide(request.user):
            return queryset
        # A gu's official: entries about its polls, and moderation of its gu's proposals and of
        # comments on its polls or proposals.
        from discussion.models import Comment
        from proposals.models import Proposal

        polls = scoping.polls_visible_to(request.user).values("pk")
        proposals = Proposal.objects.filter(district_id=request.user.jurisdiction_id).values("pk")
        comments = Comment.objects.filter(Q(poll_id__in=polls) | Q(proposal_id__in=proposals))
        return queryset.filter(
            Q(poll_id__in=polls)
            | Q(subject_type=AuditEntry.Subject.PROPOSAL, subject_id__in=proposals)
            | Q(subject_type=AuditEntry.Subject.COMMENT, subject_id__in=comments.values("pk"))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    @admin.display(description=_("poll"))
    def poll_link(self, obj: AuditEntry) -> str:
        if obj.poll_id is None:
            return "—"
        url = reverse("admin:voting_poll_change", args=[obj.poll_id])
        return format_html('<a href="{}">#{}</a>', url, obj.poll_id)

    @admin.display(description=_("changes"))
    def changes_pretty(self, obj: AuditEntry) -> str:
        text = json.dumps(obj.changes, indent=2, ensure_ascii=False, sort_keys=True)
        return format_html('<pre class="audit-changes">{}</pre>', text)


# --- Outcomes ----------------------------------------------------------------------------------


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    """What was decided because of a closed poll. Saving goes through ``record_outcome``: it is
    audited, and the first record notifies everyone who voted."""

    list_display = ("poll", "decided_on", "recorded_at", "updated_at")
    search_fields = ("poll__title", "summary")
    fields = ("poll", "summary", "link", "attachment", "decided_on")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Outcome]:
        polls = scoping.polls_visible_to(request.user)
        return super().get_queryset(request).filter(poll__in=polls).select_related("poll")

    def get_readonly_fields(self, request: HttpRequest, obj: Outcome | None = None):
        return ("poll",) if obj else ()

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "poll":
            # Closed polls of this official's scope that have no outcome yet.
            kwargs["queryset"] = scoping.polls_visible_to(
                request.user,
                Poll.objects.filter(published=True, closes_at__lte=timezone.now()),
            ).filter(outcome__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Outcome | None = None) -> bool:
        return False  # citizens were told; a correction is an edit, and it is audited

    def save_model(self, request: HttpRequest, obj: Outcome, form, change: bool) -> None:
        attachment = (
            form.cleaned_data.get("attachment") if "attachment" in form.changed_data else None
        )
        saved = services.record_outcome(
            poll=obj.poll,
            by=request.user,
            summary=obj.summary,
            link=obj.link,
            decided_on=obj.decided_on,
            attachment=attachment,
        )
        obj.pk = saved.pk
        obj._state.adding = False


# --- Categories ------------------------------------------------------------------------------


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "name_en", "slug", "position")
    list_editable = ("position",)
    search_fields = ("name", "name_en", "slug")
    prepopulated_fields = {"slug": ("name_en",)}
    ordering = ("position", "slug")
