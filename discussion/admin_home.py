"""Comments' panel on the officials' home (accounts/officials_home.py): reported comments still
shown to citizens, most reported first, as the comment list orders them. One query: the count
comes with the rows, as a window over them.

Here and not in ``moderation``: comments are this app's, and moderation sits below it."""

from django.db.models import Count, Window
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.officials_home import Entry, Group, Link, Panel, Section, register_panel
from discussion.admin import comments_visible_to
from discussion.models import Comment

SHOWN = 5
EXCERPT = 60


def reported_panel(request: HttpRequest) -> Panel | None:
    user = request.user
    if not user.has_perm("discussion.view_comment"):
        return None
    # As the list's filters "reported: yes" and "visibility: visible" (the "see all" link).
    reported = comments_visible_to(user, Comment.objects.filter(report_count__gt=0, hidden_at=None))
    rows = list(
        reported.only("pk", "body", "report_count", "deleted_at")
        .annotate(queue_count=Window(Count("pk")))
        .order_by("-report_count", "-created_at", "-pk")[:SHOWN]
    )
    entries = tuple(
        Entry(
            label=_excerpt(comment),
            url=reverse("admin:discussion_comment_change", args=[comment.pk]),
            detail=ngettext("%(count)d report", "%(count)d reports", comment.report_count)
            % {"count": comment.report_count},
        )
        for comment in rows
    )
    count = rows[0].queue_count if rows else 0
    changelist = reverse("admin:discussion_comment_changelist")
    see_all = Link(
        label=_("See all %(count)d") % {"count": count},
        url=f"{changelist}?{urlencode({'reported': 'yes', 'hidden': 'no'})}",
    )
    group = Group(
        key="comments_reported",
        title=gettext_lazy("Reported comments"),
        count=count,
        entries=entries,
        see_all=see_all,
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
