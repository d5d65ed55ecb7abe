"""The bare-Django ceiling's routes (``bench.bare_settings``): the view, and ``/healthz`` for the
harness's start-up check."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt  # no CSRF middleware runs here anyway; says so for a reader
def ok(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"code": "method_not_allowed", "detail": "POST only"}, status=405)
    # Parse the body, as the no-op does: the ceiling differs from it by the product's path only.
    try:
        json.loads(request.body or b"null")
    except ValueError:
        return JsonResponse({"code": "parse_error", "detail": "malformed JSON"}, status=400)
    return JsonResponse({"ok": True})


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/bare/", ok), path("healthz", healthz)]
