"""WebSocket routes."""

from django.urls import re_path

from voting.consumers import PollTallyConsumer

websocket_urlpatterns = [
    re_path(r"^ws/polls/(?P<poll_id>[0-9]{1,18})/$", PollTallyConsumer.as_asgi()),
]
