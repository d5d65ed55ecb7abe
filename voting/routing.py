"""WebSocket routes. The live tally stream (`/ws/polls/<id>/`) joins them with the dashboards."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
