"""WebSocket routes."""

from channels.security.websocket import WebsocketDenier
from django.urls import re_path

from voting.consumers import PollTallyConsumer

websocket_urlpatterns = [
    re_path(r"^ws/polls/(?P<poll_id>[0-9]{1,18})/$", PollTallyConsumer.as_asgi()),
    # Channels' router raises on a path it does not know, which the server answers with a 500
    # and a traceback in the log. Any other path is refused like every other handshake: 403.
    re_path(r"", WebsocketDenier.as_asgi()),
]
