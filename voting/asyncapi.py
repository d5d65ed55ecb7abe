"""The live dashboards' WebSocket protocol (``voting/asyncapi.yaml``), served beside OpenAPI.

The document is written by hand, not generated: the protocol is a handful of frames whose meaning
(who may connect, the ticket flow, refusals, coalescing) is prose that no code holds. What could
drift — every field, type and enum of the frames, the address, the close code — is checked against
the running consumer by tests/voting/test_asyncapi.py.
"""

import copy
import functools
import json
from pathlib import Path
from typing import Any

import yaml
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import MethodNotAllowed

from core.errors import json_error

_SOURCE = Path(__file__).with_name("asyncapi.yaml")


@functools.cache
def document() -> dict[str, Any]:
    """The document as written (parsed once per process)."""
    return yaml.safe_load(_SOURCE.read_text(encoding="utf-8"))


def served(*, host: str, secure: bool) -> dict[str, Any]:
    """The document with its ``site`` server pointing where it was fetched from, so a client
    generated from it connects to this deployment."""
    served_document = copy.deepcopy(document())
    site = served_document["servers"]["site"]
    site["protocol"] = "wss" if secure else "ws"
    site["variables"]["host"]["default"] = host
    # An absolute link: AsyncAPI's externalDocs.url is a URI, and tools resolve nothing else.
    docs = served_document["info"]["externalDocs"]
    docs["url"] = f"{'https' if secure else 'http'}://{host}{docs['url']}"
    return served_document


def _refused(request: HttpRequest) -> HttpResponse | None:
    """Anything but GET and HEAD: the API's 405, in its JSON error format."""
    if request.method in ("GET", "HEAD"):
        return None
    response = json_error("method_not_allowed", MethodNotAllowed(request.method or "").detail, 405)
    response["Allow"] = "GET, HEAD"
    return response


@csrf_exempt  # it only reads: a POST is a 405, never a CSRF 403
def asyncapi_yaml(request: HttpRequest) -> HttpResponse:
    if (refused := _refused(request)) is not None:
        return refused
    body = yaml.safe_dump(
        served(host=request.get_host(), secure=request.is_secure()),
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )
    # RFC 9512's media type for YAML; AsyncAPI registers none of its own.
    return HttpResponse(body, content_type="application/yaml; charset=utf-8")


@csrf_exempt
def asyncapi_json(request: HttpRequest) -> HttpResponse:
    if (refused := _refused(request)) is not None:
        return refused
    body = json.dumps(
        served(host=request.get_host(), secure=request.is_secure()), ensure_ascii=False
    )
    return HttpResponse(body, content_type="application/json; charset=utf-8")
