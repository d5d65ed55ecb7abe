"""The venue's screen: a page for a projector, signed in as the poll's official, showing the QR
code of an on-site session, which changes every ONSITE_TOKEN_SECONDS.

The page draws the first code itself; ``onsite/static/onsite/screen.js`` then asks
``code.json`` for the current one a little after each step ends (and every few seconds anyway, so
a session opening or closing shows). The SVG is drawn here, server-side, by segno: the page runs
no QR code of its own. A phone opening a code's URL without the app gets ``deep_link``.
"""

from datetime import datetime

import segno
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import User
from onsite import services, tokens
from voting import bilingual, scoping
from voting.dashboard import officials_only
from voting.models import OnsiteSession

# How often the page asks at most, whatever the step: a session opening or ending shows by then.
MAX_REFRESH_SECONDS = 5


def _session_for(user: User, session_id: int) -> OnsiteSession:
    """The session, if ``user`` may show it: an official of its poll's jurisdiction (as for the
    poll itself, another gu's session does not exist for them) with the permission to view
    on-site sessions."""
    session = OnsiteSession.objects.select_related("poll").filter(pk=session_id).first()
    if session is None or not scoping.may_manage(user, session.poll):
        raise Http404
    if not user.has_perm("voting.view_onsitesession"):
        raise PermissionDenied
    return session


def link_base(request: HttpRequest) -> str:
    """Where the codes' URLs point: ONSITE_LINK_BASE (the citizens' host, which the app claims
    as its deep links), or this request's own host."""
    configured = settings.ONSITE_LINK_BASE
    return (configured or request.build_absolute_uri("/")).rstrip("/")


def code_link(request: HttpRequest, token: str) -> str:
    return link_base(request) + reverse("onsite:deep-link", args=[token])


def qr_svg(link: str) -> str:
    # Medium error correction: a projected code survives glare and a lens at an angle. No size
    # in the SVG (only its viewBox): the page's CSS makes it as large as the screen allows.
    code = segno.make(link, error="m", micro=False)
    return code.svg_inline(omitsize=True, border=4, dark="#000", light="#fff", title=_("QR code"))


def _code_document(request: HttpRequest, session: OnsiteSession, now: datetime) -> dict:
    state = services.screen_state(session=session, now=now)
    body: dict[str, object] = {
        "state": state,
        "message": _state_message(state),
        "server_now": now.isoformat(),
        "step_seconds": tokens.step_seconds(),
    }
    wait: float = MAX_REFRESH_SECONDS
    if state == services.ScreenState.OPEN:
        code = services.screen_code(session=session, now=now.timestamp())
        link = code_link(request, code.token)
        changes_in = max(0.0, code.changes_at - now.timestamp())
        wait = min(wait, changes_in)
        body.update(
            step=code.step,
            svg=qr_svg(link),
            link=link,
            changes_in_ms=round(changes_in * 1000),
            # A code is accepted during its step and the next: past that, the page hides it.
            valid_for_ms=round((changes_in + tokens.step_seconds()) * 1000),
        )
    else:
        body.update(step=None, svg=None, link=None, changes_in_ms=None, valid_for_ms=None)
    body["refresh_in_ms"] = round(wait * 1000)
    return body


def _state_message(state: str) -> str:
    return {
        services.ScreenState.OPEN: _("Scan the code with the mVoting app to vote here."),
        services.ScreenState.UPCOMING: _("On-site voting here has not started yet."),
        services.ScreenState.ENDED: _("On-site voting here has ended. Thank you."),
        services.ScreenState.POLL_NOT_OPEN: _("The poll is not open for voting now."),
    }[state]


def _strings() -> dict[str, str]:
    """The texts the script shows, in the page's language."""
    return {
        "offline": _("Connection lost: trying again…"),
        "signed_out": _("Signed out: sign in again to show the code."),
        "sign_in": _("Sign in"),
    }


@require_GET
@never_cache
@officials_only
def screen(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session_for(request.user, session_id)  # type: ignore[arg-type]
    now = timezone.now()
    document = _code_document(request, session, now)
    poll = session.poll
    return render(
        request,
        "onsite/screen.html",
        {
            "session": session,
            "poll_title": bilingual.localized(poll.title, poll.title_en),
            "code": document,
            "config": {
                "code_url": reverse("onsite:screen-code", args=[session.pk]),
                "login_url": reverse("admin:login") + f"?next={request.path}",
                "strings": _strings(),
                "code": document,
            },
        },
    )


@require_GET
@never_cache
@officials_only
def screen_code(request: HttpRequest, session_id: int) -> JsonResponse:
    """The current code of the session (or why there is none), for the screen's script."""
    session = _session_for(request.user, session_id)  # type: ignore[arg-type]
    return JsonResponse(_code_document(request, session, timezone.now()))


@require_GET
def deep_link(request: HttpRequest, token: str) -> HttpResponse:
    """A code's URL opened by a phone without the app (the app claims these links as its own):
    how to vote with it. Checks nothing and reads nothing: the app sends the token on."""
    return render(request, "onsite/deep_link.html", status=200)
