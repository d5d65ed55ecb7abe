"""ASGI entry point: HTTP → Django; WebSocket → origin check → authentication → voting routes."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models (consumers, auth middleware).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from core.websocket import OriginGate  # noqa: E402
from voting.consumers import TicketAuthMiddleware  # noqa: E402
from voting.routing import websocket_urlpatterns  # noqa: E402

if settings.TASKS_IN_PROCESS:
    from config import tasks_in_process

    tasks_in_process.start()
    tasks_in_process.start_counter()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Exact origins (scheme, host, port); no Origin at all only with an app's ticket.
        "websocket": OriginGate(
            AuthMiddlewareStack(TicketAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
