from django.urls import path

from voting import api, officials_api

app_name = "voting"
urlpatterns = [
    path("polls/", api.PollListView.as_view(), name="poll-list"),
    path("polls/<id:poll_id>/", api.PollDetailView.as_view(), name="poll-detail"),
    path("polls/<id:poll_id>/ballots/", api.BallotView.as_view(), name="ballots"),
    path("polls/<id:poll_id>/results/", api.ResultsView.as_view(), name="results"),
    path("receipts/<str:code>/", api.ReceiptView.as_view(), name="receipt"),
    path("ws-tickets/", officials_api.WebSocketTicketView.as_view(), name="ws-tickets"),
]
