"""allauth headless endpoints this service does not offer: passwords and email addresses.

Citizens sign in with their phone and a one-time code only. allauth's password and email
endpoints would let a session token alone add a password (then phone + password logs in
without SMS, for ever) or an email (a second way into the account, and a 500 on the mail
server). They answer 403 in the project's error shape — like the other refusals the project
makes under /_allauth/ (SMS budget, CSRF) — before allauth sees the request, for both clients
and every method; nothing is read or written.

Two more of allauth's views are put behind small guards for inputs that made them answer 500
(see ``_get_or_post_only`` and ``_session_ids_in_range``).
"""

import json
from collections.abc import Callable

from allauth.headless.account.views import ManagePhoneView
from allauth.headless.constants import Client
from allauth.headless.usersessions.views import SessionsView
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.urls import URLPattern, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from core.errors import json_error

# Paths under /_allauth/<client>/v1/ (allauth.headless.account.urls), by what they would do.
PASSWORD_PATHS = (
    "auth/login",  # phone or email + password
    "auth/reauthenticate",  # by password
    "auth/password/request",
    "auth/password/reset",
    "account/password/change",
)
EMAIL_PATHS = (
    "account/email",
    "auth/email/verify",
    "auth/email/verify/resend",
)


@csrf_exempt
def no_passwords(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    return json_error(
        "passwords_not_available",
        _("This service has no passwords: citizens sign in with their phone and a code."),
        403,
    )


@csrf_exempt
def no_emails(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    return json_error(
        "emails_not_available",
        _("This service keeps no email addresses: citizens are reached by their phone."),
        403,
    )


def _pattern(path: str) -> str:
    # Both clients; a trailing slash too, which allauth would otherwise answer with a 404.
    return rf"^_allauth/(?P<client>app|browser)/v1/{path}/?$"


def _guarded(
    view_class: type, client: Client, guard: Callable[[HttpRequest], HttpResponseBase | None]
) -> Callable[..., HttpResponseBase]:
    """allauth's own view for ``client``, behind ``guard`` (a refusal, or None to go on).

    CSRF stays as allauth has it: the app client is exempt, the browser client is not.
    """
    allauth_view = view_class.as_api_view(client=client)

    def view(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        return guard(request) or allauth_view(request)

    return csrf_exempt(view) if client == Client.APP else view


def _get_or_post_only(request: HttpRequest) -> HttpResponseBase | None:
    """``account/phone`` (the citizen's phone change): allauth answers any other method from
    an anonymous client with a 500 (its view reads a user it never set)."""
    if request.method in ("GET", "POST"):
        return None
    response = json_error("method_not_allowed", _("Method not allowed."), 405)
    response["Allow"] = "GET, POST"
    return response


_MAX_ID = 2**63 - 1


def _session_ids_in_range(request: HttpRequest) -> HttpResponseBase | None:
    """``auth/sessions`` DELETE: an id past 64 bits made allauth's form query the database with
    it (a 500). Refused here in allauth's own shape for that field; the rest is allauth's."""
    if request.method != "DELETE":
        return None
    try:
        ids = json.loads(request.body or b"{}").get("sessions")
    except (ValueError, AttributeError):
        return None  # allauth answers malformed bodies itself (400)
    if isinstance(ids, list) and any(
        isinstance(i, int) and not 0 < i <= _MAX_ID for i in ids if not isinstance(i, bool)
    ):
        message = _("No such session.")
        return JsonResponse(
            {
                "status": 400,
                "errors": [{"message": message, "code": "invalid", "param": "sessions"}],
            },
            status=400,
            json_dumps_params={"ensure_ascii": False},
        )
    return None


def urlpatterns() -> list[URLPattern]:
    """Routes to put before allauth's own in the root URLconf."""
    return (
        [re_path(_pattern(path), no_passwords) for path in PASSWORD_PATHS]
        + [re_path(_pattern(path), no_emails) for path in EMAIL_PATHS]
        + [
            route
            for client in (Client.APP, Client.BROWSER)
            for route in (
                re_path(
                    rf"^_allauth/{client.value}/v1/account/phone$",
                    _guarded(ManagePhoneView, client, _get_or_post_only),
                ),
                re_path(
                    rf"^_allauth/{client.value}/v1/auth/sessions$",
                    _guarded(SessionsView, client, _session_ids_in_range),
                ),
            )
        ]
    )
