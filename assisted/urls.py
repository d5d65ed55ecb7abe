"""The operator's pages, mounted at /assist/ (config/urls.py)."""

from django.urls import path
from django.views.i18n import set_language

from assisted import views

app_name = "assisted"
urlpatterns = [
    path("", views.search, name="search"),
    path("polls/<int:poll_id>/", views.identify, name="identify"),
    path("polls/<int:poll_id>/sms/", views.send_code, name="send-code"),
    path("polls/<int:poll_id>/pin/", views.use_pin, name="pin"),
    path("calls/<int:identification_id>/code/", views.code, name="code"),
    path("calls/<int:identification_id>/ballot/", views.ballot, name="ballot"),
    path("calls/<int:identification_id>/receipt/", views.receipt, name="receipt"),
    path("language/", set_language, name="language"),
]
