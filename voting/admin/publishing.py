"""Preview, publish and close a poll from its own pages, each publish or close confirmed first.

Publishing tells the whole audience (voting/notices.py), and closing makes the count final: both
were once bulk actions in the list's dropdown, one click from a wrong tick. Each is now a page of
the poll: GET shows the poll as citizens will see it (voting/admin/phone.py) beside what the
step will do — whom it reaches, when it opens and closes, that notifications go out — and
changes nothing; only the POST of its button (CSRF-protected) calls the service
(``publish_poll``, ``close_poll``), which checks, audits and notifies.

Scoping: the poll is found through the admin's own lookup (``poll_for``: ``polls_visible_to``
and the view permission), so another gu's poll is a 404; publishing and closing also need the
change permission (403 without it).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from core.errors import ApiError
from notifications import quiet
from voting import eligibility, tallies
from voting.admin.audience import estimate_for
from voting.admin.base import official_of
from voting.admin.phone import LANGUAGES, Phone, phone, seoul_time
from voting.models import Poll
from voting.services.lifecycle import close_poll, publish_poll

PollFor = Callable[[HttpRequest, str], Poll]


@dataclass(frozen=True)
class Link:
    id: str
    label: str
    url: str


def lifecycle_links(poll: Poll, *, may_change: bool) -> list[Link]:
    """The change form's buttons: preview always; publish for a draft, close for an open poll,
    to those who may change the poll."""
    links = [Link("poll-preview", gettext("Preview"), _url("preview", poll))]
    if may_change and not poll.published:
        links.append(Link("poll-publish", gettext("Publish…"), _url("publish", poll)))
    if may_change and poll.status == Poll.Status.OPEN:
        links.append(Link("poll-close", gettext("Close now…"), _url("close", poll)))
    return links


def _url(step: str, poll: Poll) -> str:
    return reverse(f"admin:voting_poll_{step}", args=[poll.pk])


def _change_url(poll: Poll) -> str:
    return reverse("admin:voting_poll_change", args=[poll.pk])


# --- What the confirmations say -----------------------------------------------------------------


def audience_text(request: HttpRequest, poll: Poll) -> str:
    """The change form's audience estimate, with its rule: hidden over a managed group from
    officials who may not see phone numbers (voting/admin/audience.py)."""
    return estimate_for(request.user, eligibility.Audience.of(poll))


def schedule_text(poll: Poll) -> str:
    values = {"opens": seoul_time(poll.opens_at.isoformat()), "closes": _closes(poll)}
    if poll.opens_at <= timezone.now():
        return (
            gettext("It opens as soon as you publish it and closes at %(closes)s (Seoul time).")
            % values
        )
    return gettext("It opens at %(opens)s and closes at %(closes)s (Seoul time).") % values


def _closes(poll: Poll) -> str:
    return seoul_time(poll.closes_at.isoformat())


def notification_texts(poll: Poll) -> list[str]:
    """What the outbox will send and when (voting/notices.py, notifications/quiet.py)."""
    heading = gettext("A new poll for you")  # the notice's own heading (notifications/messages.py)
    if poll.opens_at <= timezone.now():
        texts = [
            gettext(
                "Notifications go out now: everyone in the audience who may vote gets "
                "“%(heading)s” as soon as you publish."
            )
            % {"heading": heading}
        ]
    else:
        texts = [
            gettext(
                "Notifications go out when it opens: at %(opens)s everyone in the audience who "
                "may vote gets “%(heading)s”."
            )
            % {"heading": heading, "opens": seoul_time(poll.opens_at.isoformat())}
        ]
    window = quiet.hours()
    if window is not None:
        texts.append(
            gettext(
                "Between %(start)02d:00 and %(end)02d:00 the phones are notified in the morning; "
                "the app's inbox has it at once."
            )
            % {"start": window[0], "end": window[1]}
        )
    hours = settings.NOTIFY_CLOSING_REMINDER_HOURS
    if hours > 0 and poll.closes_at - poll.opens_at > timedelta(hours=hours):
        texts.append(
            gettext("Those who have not voted are reminded %(hours)s hours before it closes.")
            % {"hours": number_format(hours, decimal_pos=0)}
        )
    return texts


# --- The pages ----------------------------------------------------------------------------------


def _language(request: HttpRequest) -> str | None:
    language = request.GET.get("lang", "ko")
    return language if language in LANGUAGES else None


def _context(
    model_admin: admin.ModelAdmin, request: HttpRequest, poll: Poll, shown: Phone, title: str
) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "poll": poll,
        "original": poll,
        "phone": shown,
        "language_links": [
            (code, label, "?" + urlencode({"lang": code}))
            for code, label in (("ko", "한국어"), ("en", "English"))
        ],
        "change_url": _change_url(poll),
        "has_view_permission": True,
    }


def _bad_language() -> HttpResponse:
    return HttpResponseBadRequest(gettext("Unknown language: choose “ko” or “en”."))


def preview_view(model_admin: admin.ModelAdmin, request: HttpRequest, poll: Poll) -> HttpResponse:
    language = _language(request)
    if language is None:
        return _bad_language()
    shown = phone(request=request, poll=poll, language=language)
    context = _context(
        model_admin, request, poll, shown, gettext("Preview: %(title)s") % {"title": poll.title}
    )
    may_change = model_admin.has_change_permission(request, poll)
    context["links"] = [
        link for link in lifecycle_links(poll, may_change=may_change) if link.id != "poll-preview"
    ]
    return TemplateResponse(request, "admin/voting/poll/preview.html", context)


def _confirm(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    poll: Poll,
    *,
    step: str,
    service: Callable[..., Poll],
    done: str,
) -> HttpResponse:
    """The confirmation page of ``step`` (GET, safe) and its button (POST)."""
    if not model_admin.has_change_permission(request, poll):
        raise PermissionDenied
    if request.method == "POST" and step == "publish" and poll.published:
        # Published already (another tab, another official): nothing is sent twice.
        messages.info(request, f"“{poll.title}”: {gettext('already published.')}")
        return HttpResponseRedirect(_change_url(poll))
    if request.method == "POST":
        try:
            service(poll=poll, by=official_of(request))
        except ApiError as exc:
            messages.error(request, f"“{poll.title}”: {exc.detail}")
            return HttpResponseRedirect(_url(step, poll))
        messages.success(request, f"“{poll.title}”: {done}")
        return HttpResponseRedirect(_change_url(poll))
    language = _language(request)
    if language is None:
        return _bad_language()
    shown = phone(request=request, poll=poll, language=language)
    title = {
        "publish": gettext("Publish: %(title)s"),
        "close": gettext("Close now: %(title)s"),
    }[step] % {"title": poll.title}
    context = _context(model_admin, request, poll, shown, title)
    context["step_url"] = _url(step, poll)
    if step == "publish":
        context.update(
            ready=not poll.published,
            audience=audience_text(request, poll),
            schedule=schedule_text(poll),
            notifications=notification_texts(poll),
            closes_passed=poll.closes_at <= timezone.now(),
        )
    else:
        participants = tallies.read_totals([poll.pk]).get(poll.pk, 0)
        context.update(
            ready=poll.status == Poll.Status.OPEN,
            status=Poll.Status(poll.status).label,
            closes=_closes(poll),
            participants=number_format(participants, force_grouping=True),
        )
    return TemplateResponse(request, f"admin/voting/poll/{step}.html", context)


def publishing_urls(
    *, wrap: Callable, poll_for: PollFor, info: tuple[str, str | None], model_admin: Any
) -> list[URLPattern]:
    """The preview, publish and close pages' admin URLs, behind the admin view and the admin's
    poll lookup (``poll_for``: its scoping and view permission)."""

    @require_http_methods(["GET", "HEAD"])
    def preview(request: HttpRequest, object_id: str) -> HttpResponse:
        return preview_view(model_admin, request, poll_for(request, object_id))

    @require_http_methods(["GET", "HEAD", "POST"])
    def publish(request: HttpRequest, object_id: str) -> HttpResponse:
        return _confirm(
            model_admin,
            request,
            poll_for(request, object_id),
            step="publish",
            service=publish_poll,
            done=gettext("published."),
        )

    @require_http_methods(["GET", "HEAD", "POST"])
    def close(request: HttpRequest, object_id: str) -> HttpResponse:
        return _confirm(
            model_admin,
            request,
            poll_for(request, object_id),
            step="close",
            service=close_poll,
            done=gettext("closed: no more ballots are accepted."),
        )

    name = "{}_{}_{}".format
    return [
        path("<path:object_id>/preview/", wrap(preview), name=name(*info, "preview")),
        path("<path:object_id>/publish/", wrap(publish), name=name(*info, "publish")),
        path("<path:object_id>/close/", wrap(close), name=name(*info, "close")),
    ]
