"""The venue's screen and the codes' URLs, under /onsite/ (config/urls.py)."""

from django.urls import path

from onsite import views

app_name = "onsite"
urlpatterns = [
    path("sessions/<id:session_id>/screen/", views.screen, name="screen"),
    path("sessions/<id:session_id>/screen/code.json", views.screen_code, name="screen-code"),
    # What the QR codes encode: the app's deep link (docs/walkthroughs/onsite.md).
    path("t/<str:token>", views.deep_link, name="deep-link"),
]
