from django.urls import path

from core.offload import offloaded
from voting import api, invitations_api, media, officials_api

app_name = "voting"
urlpatterns = [
    path("polls/", offloaded(api.PollListView.as_view()), name="poll-list"),
    path("polls/<id:poll_id>/", offloaded(api.PollDetailView.as_view()), name="poll-detail"),
    path("polls/<id:poll_id>/ballots/", offloaded(api.BallotView.as_view()), name="ballots"),
    path("polls/<id:poll_id>/results/", offloaded(api.ResultsView.as_view()), name="results"),
    path("polls/<id:poll_id>/board/", offloaded(api.BoardView.as_view()), name="board"),
    path(
        "polls/<id:poll_id>/outcome/attachment/",
        offloaded(media.OutcomeAttachmentView.as_view()),
        name="outcome-attachment",
    ),
    path(
        "invitations/redeem/",
        offloaded(invitations_api.RedeemView.as_view()),
        name="invitation-redeem",
    ),
    path("receipts/<str:code>/", offloaded(api.ReceiptView.as_view()), name="receipt"),
    path("ws-tickets/", offloaded(officials_api.WebSocketTicketView.as_view()), name="ws-tickets"),
]
