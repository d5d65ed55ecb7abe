"""Small helpers every voting admin module uses."""

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from accounts.models import User


def official_of(request: HttpRequest) -> User:
    """The signed-in official: every admin view runs behind the site's staff login."""
    user = request.user
    assert isinstance(user, User), "the admin site serves signed-in officials only"
    return user


def reverse_or_none(name: str, *args: Any) -> str | None:
    """A URL of the live dashboards, which live in their own module and may not be installed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None
