"""The officials' live dashboards: one poll on a meeting-room screen, and an overview of open polls.

The pages are thin: they render the current snapshot (so the numbers are there before the socket
opens) and the UI strings in the request's language; ``voting/static/voting/dashboard.js`` opens
``/ws/polls/<id>/`` with the admin session cookie and redraws on every ``tally`` message.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts import officials_auth
from accounts.models import Gender
from districts import selectors as district_selectors
from voting import live, selectors
from voting.models import Channel, Poll


def officials_only(view):
    """Like the admin: anyone who is not active staff, or whose session has not passed the
    second factor (accounts/officials_auth.py), goes to the admin login, which leads on to it."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not (
            user.is_authenticated
            and user.is_active
            and user.is_staff
            and officials_auth.request_state(request) == officials_auth.State.OK
        ):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not user.has_perm("voting.view_poll"):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def ws_path(poll_id: int) -> str:
    return f"/ws/polls/{poll_id}/"


def _ui_strings() -> dict[str, object]:
    """Every text the script shows, in the request's language."""
    return {
        "lang": get_language() or "ko",
        "status": {
            "draft": _("draft"),
            "upcoming": _("upcoming"),
            "open": _("open"),
            "closed": _("closed"),
        },
        "gender": {value: str(label) for value, label in Gender.choices},
        "channel": {value: str(label) for value, label in Channel.choices},
        "unknown": _("unknown"),
        "participants": _("Participants"),
        "time_left": _("Time left"),
        "opens_in": _("Opens in"),
        "ended": _("Voting has ended"),
        "days": _("%(n)sd"),
        "live": _("Live"),
        "connecting": _("Connecting…"),
        "reconnecting": _("Reconnecting…"),
        "results_published": _("Results published"),
        "suppressed": _("withheld (fewer than the minimum number of ballots)"),
        # The API's labels of age bands (voting/results.py), here filled in by the script.
        "age_band": _("%(band)ds"),
        "age_band_oldest": _("%(band)d+"),
        "updated": _("Updated %(time)s"),
        # The same sentence as results.build's note, in the page's language.
        "withheld": _("Fewer than %(k)d ballots counted: totals appear once at least %(k)d are."),
    }


def _gu_names() -> dict[str, str]:
    return district_selectors.gu_names(english=(get_language() or "ko").startswith("en"))


def _page_config(polls: list[Poll]) -> dict[str, object]:
    return {
        "server_now": timezone.now().isoformat(),
        "strings": _ui_strings(),
        "gu_names": _gu_names(),
        "polls": {str(poll.pk): {"ws": ws_path(poll.pk)} for poll in polls},
    }


@require_GET
@officials_only
def poll_dashboard(request: HttpRequest, poll_id: int) -> HttpResponse:
    # Outside the official's jurisdiction the poll does not exist for them (as in the admin).
    poll = selectors.live_poll_for(user=request.user, poll_id=poll_id)
    if poll is None:
        raise Http404
    return render(
        request,
        "voting/dashboard/poll.html",
        {
            "poll": poll,
            "ws_path": ws_path(poll.pk),
            "snapshots": {str(poll.pk): live.snapshot(poll.pk)},
            "min_cell": settings.RESULTS_MIN_CELL,
            "batch_min": settings.BALLOT_BATCH_MIN,
            "config": _page_config([poll]),
        },
    )


def _open_polls(request: HttpRequest) -> list[Poll]:
    return selectors.live_open_polls(user=request.user, now=timezone.now())


@require_GET
@officials_only
def overview(request: HttpRequest) -> HttpResponse:
    polls = _open_polls(request)
    config = _page_config(polls)
    # The page asks now and then which polls are open (and at the next opening), and reloads
    # when the set changed: a poll opening or published after the page loaded appears.
    config["poll_list_url"] = reverse("voting_dashboard:open-polls")
    next_opening = selectors.next_opening_at(user=request.user, now=timezone.now())
    config["next_opening_at"] = next_opening.isoformat() if next_opening else None
    return render(
        request,
        "voting/dashboard/overview.html",
        {
            "polls": polls,
            "snapshots": {str(poll.pk): live.snapshot(poll.pk) for poll in polls},
            "config": config,
        },
    )


@require_GET
@officials_only
def open_polls(request: HttpRequest) -> JsonResponse:
    """The ids of the open polls the overview shows, for its periodic check."""
    return JsonResponse({"polls": [poll.pk for poll in _open_polls(request)]})
