"""The admin site: Django's, with a second factor after the password (accounts/officials_auth.py).

Every admin URL passes through ``has_permission``; a session that has not passed the second factor
(or whose time is up) has none, so the admin sends it to its login, which sends it on to the step.
"""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from accounts import officials_auth, officials_views


class OfficialsAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return (
            super().has_permission(request)
            and officials_auth.request_state(request) == officials_auth.State.OK
        )

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return officials_views.login(self, request, extra_context)

    def second_factor(self, request: HttpRequest) -> HttpResponse:
        return officials_views.second_factor(self, request)

    def get_urls(self):
        # Not wrapped in admin_view: the step is for sessions that have no admin permission yet.
        step = path(
            "login/second-factor/",
            never_cache(csrf_protect(self.second_factor)),
            name="second_factor",
        )
        return [step, *super().get_urls()]
