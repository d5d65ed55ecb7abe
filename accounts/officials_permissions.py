"""The officials' API asks what the admin asks: a second factor passed, a session within its time.

For a browser (admin cookie) and an app (session token) alike; citizens pass through to the
view's own refusals.
"""

from django.contrib.auth import logout
from django.contrib.sessions.backends.base import SessionBase
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts import officials_auth
from accounts.officials_auth import State
from core.errors import Forbidden


class SecondFactorRequired(Forbidden):
    default_code = "second_factor_required"
    default_detail = _(
        "Officials must pass two-factor authentication first: sign in to the admin with a code."
    )


class OfficialSessionVerified(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        if not officials_auth.is_official(user):
            return True
        # The app's token names its session (allauth headless); a browser has its cookie's.
        by_token = isinstance(request.auth, SessionBase)
        session = request.auth if by_token else request._request.session
        state = officials_auth.session_state(session=session, user=user)
        if state == State.EXPIRED:
            if by_token:
                session.flush()  # the token is worth nothing from now on
            else:
                logout(request._request)
            raise AuthenticationFailed(
                _("Your session has expired. Sign in again."), code="session_expired"
            )
        if state == State.SECOND_FACTOR:
            raise SecondFactorRequired()
        if by_token and session.modified:
            session.save()  # the idle clock (a browser's session is saved by its middleware)
        return True
