"""DRF authentication by allauth's headless session token (``X-Session-Token``)."""

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed

from accounts.tokens import authenticate_by_session_token


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
