from django.urls import path

from core.offload import offloaded
from notifications import api

app_name = "notifications"
urlpatterns = [
    path(
        "me/notifications/",
        offloaded(api.PreferencesView.as_view()),
        name="preferences",
    ),
    path("me/inbox/", offloaded(api.InboxView.as_view()), name="inbox"),
    path("me/inbox/read/", offloaded(api.MarkReadView.as_view()), name="inbox-read"),
    path("me/devices/", offloaded(api.DevicesView.as_view()), name="devices"),
    path("me/devices/<str:token>/", offloaded(api.DeviceView.as_view()), name="device"),
]
