"""The admin site: Django's, with a second factor after the password (accounts/officials_auth.py),
in Korean first, with the official's jurisdiction in every page's header and a home
(accounts/officials_home.py) instead of a bare list of apps.

Every admin URL passes through ``has_permission``; a session that has not passed the second factor
(or whose time is up) has none, so the admin sends it to its login, which sends it on to the step.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from accounts import officials_auth, officials_home, officials_views
from accounts.models import User


def jurisdiction_label(user: User) -> str:
    """ "강남구 · 홍길동", or "서울시 전체 · 홍길동" for a city-wide official (no jurisdiction)."""
    gu = user.jurisdiction  # one small query, only for a gu's officials
    if gu is None:
        area = _("All of Seoul")
    elif get_language().startswith("en") and gu.name_en:
        area = gu.name_en
    else:
        area = gu.name_ko
    name = user.display_name or user.get_username()
    return _("%(area)s · %(name)s") % {"area": area, "name": name}


class OfficialsAdminSite(admin.AdminSite):
    site_header = gettext_lazy("Seoul policy voting — officials")
    site_title = gettext_lazy("Seoul policy voting — officials")
    index_title = gettext_lazy("Officials' home")
    index_template = "admin/officials/index.html"
    # No "View site": citizens use the app, and the web server answers 404 at "/". The live
    # dashboards, the officials' other pages, are a shortcut on the home for those allowed them.
    site_url = None

    def has_permission(self, request: HttpRequest) -> bool:
        return (
            super().has_permission(request)
            and officials_auth.request_state(request) == officials_auth.State.OK
        )

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        user = request.user
        # Only behind the login: the login and second-factor pages name nobody.
        if context.get("has_permission") and isinstance(user, User):
            context["official_jurisdiction"] = jurisdiction_label(user)
        return context

    def get_app_list(self, request: HttpRequest, app_label: str | None = None):
        app_list = super().get_app_list(request, app_label)
        return app_list if app_label else officials_home.ordered_app_list(app_list)

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        context = {"home_sections": officials_home.sections_for(request), **(extra_context or {})}
        return super().index(request, context)

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
