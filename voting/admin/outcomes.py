"""Outcomes in the admin: what was decided because of a closed poll, for the polls the official
may see."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from voting import scoping
from voting.admin.base import official_of
from voting.models import Outcome, Poll
from voting.services.outcomes import record_outcome


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    """What was decided because of a closed poll. Saving goes through ``record_outcome``: it is
    audited, and the first record notifies everyone who voted."""

    list_display = ("poll", "decided_on", "recorded_at", "updated_at")
    search_fields = ("poll__title", "summary")
    fields = ("poll", "summary", "link", "attachment", "decided_on")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Outcome]:
        polls = scoping.polls_visible_to(official_of(request))
        return super().get_queryset(request).filter(poll__in=polls).select_related("poll")

    def get_readonly_fields(self, request: HttpRequest, obj: Outcome | None = None):
        return ("poll",) if obj else ()

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "poll":
            # Closed polls of this official's scope that have no outcome yet.
            kwargs["queryset"] = scoping.polls_visible_to(
                official_of(request),
                Poll.objects.filter(published=True, closes_at__lte=timezone.now()),
            ).filter(outcome__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Outcome | None = None) -> bool:
        return False  # citizens were told; a correction is an edit, and it is audited

    def save_model(self, request: HttpRequest, obj: Outcome, form, change: bool) -> None:
        attachment = (
            form.cleaned_data.get("attachment") if "attachment" in form.changed_data else None
        )
        saved = record_outcome(
            poll=obj.poll,
            by=official_of(request),
            summary=obj.summary,
            link=obj.link,
            decided_on=obj.decided_on,
            attachment=attachment,
        )
        obj.pk = saved.pk
        obj._state.adding = False
