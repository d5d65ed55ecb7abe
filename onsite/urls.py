"""The citizens' on-site API, under /api/v1/ (config/urls.py)."""

from django.urls import path

from core.offload import offloaded
from onsite import api

app_name = "onsite_api"
urlpatterns = [
    path("onsite/ballots/", offloaded(api.OnsiteBallotView.as_view()), name="ballots"),
    path("onsite/tokens/<str:token>/", offloaded(api.ScannedTokenView.as_view()), name="token"),
]
