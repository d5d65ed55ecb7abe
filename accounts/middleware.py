"""Officials' browser sessions end on time: idle and absolute timeouts (accounts/officials_auth.py).

Only sessions that carry the officials' clock (``SESSION_STATE_KEY``, written when an official
passes the second factor) are looked at: citizens' requests, and every request without a session
cookie (the apps' token requests), go straight through, without a query. Past either limit the
session is logged out before the view runs: the admin and the dashboards then send the browser
to the login page, and JSON endpoints answer 401 ``session_expired``.
"""

import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib.auth import alogout, logout
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from accounts.officials_auth import SESSION_STATE_KEY, is_expired, touched
from core.errors import json_error

# Under these the client is an app or a script: a 401 in the API's format, not a redirect.
JSON_PREFIXES = ("/api/", "/_allauth/")


def _expired_response(request: HttpRequest) -> HttpResponse | None:
    if request.path.startswith(JSON_PREFIXES):
        return json_error(
            "session_expired", _("Your session has expired. Sign in again."), status_code=401
        )
    return None  # the view sees an anonymous visitor and sends it to the login page


class OfficialSessionMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self._async:
            return self._acall(request)
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            state = request.session.get(SESSION_STATE_KEY)
            if state is not None:
                now = time.time()
                if is_expired(state, now=now):
                    logout(request)
                    response = _expired_response(request)
                    if response is not None:
                        return response
                elif (fresh := touched(state, now=now)) is not None:
                    request.session[SESSION_STATE_KEY] = fresh
        return self.get_response(request)

    async def _acall(self, request: HttpRequest):
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            state = await request.session.aget(SESSION_STATE_KEY)
            if state is not None:
                now = time.time()
                if is_expired(state, now=now):
                    await alogout(request)
                    response = _expired_response(request)
                    if response is not None:
                        return response
                elif (fresh := touched(state, now=now)) is not None:
                    await request.session.aset(SESSION_STATE_KEY, fresh)
        return await self.get_response(request)
