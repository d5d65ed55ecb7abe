from django.urls import path

from core.offload import offloaded
from discussion import api

app_name = "discussion"
urlpatterns = [
    path(
        "polls/<id:poll_id>/comments/",
        offloaded(api.PollCommentsView.as_view()),
        name="poll-comments",
    ),
    path(
        "proposals/<id:proposal_id>/comments/",
        offloaded(api.ProposalCommentsView.as_view()),
        name="proposal-comments",
    ),
    path("comments/<id:comment_id>/", offloaded(api.CommentView.as_view()), name="comment"),
    path(
        "comments/<id:comment_id>/replies/",
        offloaded(api.RepliesView.as_view()),
        name="comment-replies",
    ),
    path("comments/<id:comment_id>/like/", offloaded(api.LikeView.as_view()), name="comment-like"),
    path(
        "comments/<id:comment_id>/report/",
        offloaded(api.ReportView.as_view()),
        name="comment-report",
    ),
]
