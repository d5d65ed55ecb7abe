"""Which pages may open the live WebSockets: origins compared exactly, scheme + host + port.

A browser sends the page's ``Origin`` with every WebSocket handshake, and a page cannot forge it;
the session cookie goes along whoever opened the socket. So the origin is what stops another site
from opening an official's dashboard with the official's cookie (cross-site WebSocket hijacking).

Channels' ``AllowedHostsOriginValidator`` compared the host only, so any port of an allowed host
passed (``https://city.example:8443``, another service on the same name). Here an origin passes
when it is, exactly:

- the site itself: the handshake's own scheme and ``Host`` (the host valid for ALLOWED_HOSTS),
  as Django's CSRF check accepts a same-origin request;
- or listed in ``WEBSOCKET_ALLOWED_ORIGINS`` (by default CSRF_TRUSTED_ORIGINS);
- or, with DEBUG only, a loopback host on any port (a front-end dev server on :5173 or :3000; a
  page on a developer's own loopback is not an attacker we can stop anyway).

A handshake without ``Origin`` does not come from a browser: :class:`OriginGate` lets it through
to the ticket check (voting.consumers.TicketAuthMiddleware), which admits it only with a ticket
issued to an app's session token, never on a cookie.
"""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}

Origin = tuple[str, str, int]  # scheme, host (lower case, no brackets), port

# ASGI's shapes, as loose as the protocol: a scope is a dict of whatever the server put there.
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def parse_origin(text: str) -> Origin | None:
    """``scheme://host[:port]`` → its parts with the default port filled in; None if malformed."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if parts.username or parts.password or parts.query or parts.fragment:
        return None
    if parts.path not in ("", "/"):
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def _listed(origin: Origin, allowed: str) -> bool:
    scheme, host, port = origin
    if "://*." in allowed:
        # "https://*.example.kr": any subdomain, same scheme and port (as CSRF_TRUSTED_ORIGINS).
        pattern = parse_origin(allowed.replace("://*.", "://wildcard.", 1))
        if pattern is None:
            return False
        suffix = pattern[1][len("wildcard") :]  # ".example.kr"
        return (scheme, port) == (pattern[0], pattern[2]) and host.endswith(suffix)
    return parse_origin(allowed) == origin


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope.get("headers", []) if key.lower() == name]


def _own_origin(scope: Scope) -> Origin | None:
    """The site's origin as this handshake reached it, if its Host is one of ALLOWED_HOSTS."""
    hosts = _header(scope, b"host")
    if len(hosts) != 1:
        return None
    host = hosts[0].decode("latin-1")
    domain, _port = split_domain_port(host)
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
    if not domain or not validate_host(domain, allowed_hosts):
        return None
    secure = scope.get("scheme") == "wss"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        # As request.is_secure() behind the proxy: "HTTP_X_FORWARDED_PROTO" → x-forwarded-proto.
        name = proxy_header[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        values = _header(scope, name)
        if values:
            secure = values[-1].decode("latin-1").split(",")[0].strip() == proxy_header[1]
    return parse_origin(f"{'https' if secure else 'http'}://{host}")


def origin_allowed(text: str, scope: Scope) -> bool:
    origin = parse_origin(text)
    if origin is None:  # "null" (sandboxed frames, file://), garbage
        return False
    if origin == _own_origin(scope):
        return True
    if any(_listed(origin, allowed) for allowed in settings.WEBSOCKET_ALLOWED_ORIGINS):
        return True
    return bool(settings.DEBUG) and origin[1] in _LOOPBACK


def origin_header(scope: Scope) -> str | None:
    """The handshake's Origin; None when there is none (a native app). Several count as one
    unusable value (refused), never as none."""
    values = _header(scope, b"origin")
    if not values:
        return None
    if len(values) > 1:
        return ""
    return values[0].decode("latin-1")


class OriginGate:
    """Refuses (HTTP 403 at the handshake) a WebSocket whose page is not one of ours.

    Handshakes without an Origin pass on: only an app's ticket can authenticate them (see
    voting.consumers.TicketAuthMiddleware).
    """

    def __init__(self, application: ASGIApp) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            origin = origin_header(scope)
            if origin is not None and not origin_allowed(origin, scope):
                await WebsocketDenier()(scope, receive, send)
                return
        await self.application(scope, receive, send)
