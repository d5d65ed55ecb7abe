"""DRF authentication by allauth's headless session token (``X-Session-Token``)."""

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.request import Request

from accounts.models import User
from accounts.tokens import authenticate_by_session_token


def user_of(request: Request) -> User:
    """The account a view behind ``IsAuthenticated`` (the API's default) acts for.

    DRF checked the permission before the view ran, so this mostly tells the type checker what
    ``request.user`` is; should a view ever lose that check, it refuses (401) instead of handing
    an anonymous user to a service that expects an account.
    """
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise NotAuthenticated()
    return user


class SessionTokenAuthentication(XSessionTokenAuthentication):
    def authenticate(self, request):
        token = self.get_session_token(request)
        if not token:
            return None
        # allauth's lookup, with the session and the user read through the cache.
        result = authenticate_by_session_token(token)
        if result is None:
            # A token that was sent but is expired, logged out or garbage is an error, not an
            # anonymous request: the app must log in again.
            raise AuthenticationFailed(
                _("The session token is invalid or expired."), code="invalid_session_token"
            )
        return result

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return "X-Session-Token"
