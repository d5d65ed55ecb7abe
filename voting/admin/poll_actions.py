"""The poll list's actions: close now, duplicate, publish results. Each calls the service, which
writes the audit entry; a refusal (``ApiError``) is reported on the poll's line, never a 500.
Publishing has a page of its own, with a preview and a confirmation (voting/admin/publishing.py).
"""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import ApiError
from voting.admin.base import official_of
from voting.models import Poll
from voting.services.lifecycle import close_poll, duplicate_poll, publish_results


class PollActions(admin.ModelAdmin):
    """Mixed into ``PollAdmin`` (voting/admin/polls.py), which lists them in ``actions``."""

    def _report(self, request: HttpRequest, poll: Poll, text: str, level=messages.SUCCESS):
        self.message_user(request, f"“{poll.title}”: {text}", level)

    def _attempt(self, request: HttpRequest, poll: Poll, service, done: str) -> None:
        try:
            service(poll=poll, by=request.user)
        except ApiError as exc:
            self._report(request, poll, str(exc.detail), messages.ERROR)
        else:
            self._report(request, poll, done)

    @admin.action(description=_("Close the selected polls now"), permissions=["change"])
    def close_now(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        for poll in queryset:
            self._attempt(request, poll, close_poll, gettext("closed."))

    @admin.action(description=_("Duplicate as a new draft"), permissions=["add"])
    def duplicate(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        for poll in queryset:
            copy = duplicate_poll(poll=poll, by=official_of(request))
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
            self._attempt(request, poll, publish_results, gettext("results published."))
