from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts import headless_refusals, headless_spec, officials_views
from config.converters import IdConverter
from config.health import healthz
from config.metrics import metrics_view
from core import health
from core.errors import api_not_found
from core.media import serve_private
from voting import asyncapi

register_converter(IdConverter, "id")

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Answered by core.observability before the Host check; here for chains without it.
    path("livez", health.livez, name="livez"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    # Private files on the filesystem: a signed, expiring token only (core/media.py).
    path("media-private/<str:token>", serve_private, name="private-media"),
    path("admin/", admin.site.urls),
    # Authenticators are enrolled at the officials' sign-in only (accounts/officials_views.py).
    *officials_views.authenticator_refusals(),
    # Before allauth's own: its password and email endpoints refuse (accounts/headless_refusals.py).
    *headless_refusals.urlpatterns(),
    # allauth's OpenAPI spec with this service's error answers (accounts/headless_spec.py).
    *headless_spec.urlpatterns(),
    path("_allauth/", include("allauth.headless.urls")),
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("districts.urls")),
    path("api/v1/", include("voting.urls")),
    path("api/v1/", include("proposals.urls")),
    path("api/v1/", include("discussion.urls")),
    path("api/v1/", include("notifications.urls")),
    path("api/v1/", include("onsite.urls")),
    path("dashboard/", include("voting.dashboard_urls")),
    path("onsite/", include("onsite.screen_urls")),
    # The call-centre operators' pages (assisted/views.py).
    path("assist/", include("assisted.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    # The live dashboards' WebSocket protocol, as AsyncAPI 3 (voting/asyncapi.yaml).
    path("api/asyncapi.yaml", asyncapi.asyncapi_yaml, name="asyncapi-yaml"),
    path("api/asyncapi.json", asyncapi.asyncapi_json, name="asyncapi-json"),
    # Anything else under /api/ is a JSON 404, also with DEBUG on (no HTML debug page for apps).
    re_path(r"^api/", api_not_found),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "core.errors.handler400"
handler403 = "core.errors.handler403"
handler404 = "core.errors.handler404"
handler500 = "core.errors.handler500"
