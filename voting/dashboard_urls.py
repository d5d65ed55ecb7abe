"""Officials' live dashboards (HTML pages; the data comes over ``/ws/polls/<id>/``)."""

from django.urls import path
from django.views.i18n import set_language

from voting import dashboard

app_name = "voting_dashboard"
urlpatterns = [
    path("", dashboard.overview, name="overview"),
    path("open-polls.json", dashboard.open_polls, name="open-polls"),
    path("polls/<id:poll_id>/", dashboard.poll_dashboard, name="poll"),
    # The KO / EN switch on the pages (Django's own view: POST, sets the language cookie).
    path("language/", set_language, name="language"),
]
