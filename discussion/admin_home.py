"""Comments' panel on the officials' home (accounts/officials_home.py): reported comments still
shown to citizens, most reported first, as the comment list orders them. One query: the count
comes with the rows, as a window over them.

Here and not in ``moderation``: comments are this app's, and moderation sits below it."""

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.officials_home import Entry, Panel, Section, queue_group, register_panel
from discussion.admin import comments_visible_to
from discussion.models import Comment

EXCERPT = 60


def reported_panel(request: HttpRequest) -> Panel | None:
    user = request.user
    if not user.has_perm("discussion.view_comment"):
        return None
    # As the list's filters "reported: yes" and "visibility: visible" (the "see all" link).
    reported = comments_visible_to(user, Comment.objects.filter(report_count__gt=0, hidden_at=None))
    group = queue_group(
        key="comments_reported",
        title=gettext_lazy("Reported comments"),
        queryset=reported.only("pk", "body", "report_count", "deleted_at").order_by(
            "-report_count", "-created_at", "-pk"
        ),
        entry=lambda comment: Entry(
            label=_excerpt(comment),
            url=reverse("admin:discussion_comment_change", args=[comment.pk]),
            detail=ngettext("%(count)d report", "%(count)d reports", comment.report_count)
            % {"count": comment.report_count},
        ),
        changelist="admin:discussion_comment_changelist",
        filters={"reported": "yes", "hidden": "no"},
    )
    return Panel(groups=(group,))


def _excerpt(comment: Comment) -> str:
    if comment.deleted_at:
        return _("(deleted by its author)")
    body = " ".join(comment.body.split())
    return body[:EXCERPT] + ("…" if len(body) > EXCERPT else "")


def register() -> None:
    register_panel(
        key="discussion.reported",
        section=Section.QUEUE,
        order=20,
        build=reported_panel,
        app_label="discussion",
    )
