from django.urls import path

from core.offload import offloaded
from proposals import api

app_name = "proposals"
urlpatterns = [
    path("proposals/", offloaded(api.ProposalListView.as_view()), name="proposal-list"),
    path(
        "proposals/<id:proposal_id>/",
        offloaded(api.ProposalDetailView.as_view()),
        name="proposal-detail",
    ),
    path(
        "proposals/<id:proposal_id>/images/",
        offloaded(api.ProposalImagesView.as_view()),
        name="proposal-images",
    ),
    path(
        "proposals/<id:proposal_id>/support/",
        offloaded(api.SupportView.as_view()),
        name="proposal-support",
    ),
]
