"""Proposals' panel on the officials' home (accounts/officials_home.py): the proposals that reached
the threshold and wait for the official's decision, oldest in the queue first, as on the list.
One query: the count comes with the rows, as a window over them."""

from django.db.models import F
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.officials_home import Entry, Panel, Section, queue_group, register_panel
from proposals.admin import proposals_visible_to
from proposals.models import Proposal


def queue_panel(request: HttpRequest) -> Panel | None:
    user = request.user
    if not user.has_perm("proposals.view_proposal"):
        return None
    waiting = proposals_visible_to(
        user, Proposal.objects.filter(status=Proposal.Status.UNDER_REVIEW)
    )
    group = queue_group(
        key="proposals_under_review",
        title=gettext_lazy("Proposals awaiting a decision"),
        queryset=waiting.only("pk", "title", "reached_threshold_at", "support_count").order_by(
            F("reached_threshold_at").asc(nulls_last=True), "pk"
        ),
        entry=lambda proposal: Entry(
            label=proposal.title,
            url=reverse("admin:proposals_proposal_change", args=[proposal.pk]),
            detail=_detail(proposal),
        ),
        changelist="admin:proposals_proposal_changelist",
        filters={"status": Proposal.Status.UNDER_REVIEW},
    )
    return Panel(groups=(group,))


def _detail(proposal: Proposal) -> str:
    supporters = _("%(count)d supporters") % {"count": proposal.support_count}
    if proposal.reached_threshold_at is None:
        return supporters
    since = formats.date_format(
        timezone.localtime(proposal.reached_threshold_at), "SHORT_DATE_FORMAT"
    )
    return _("%(supporters)s, in the queue since %(date)s") % {
        "supporters": supporters,
        "date": since,
    }


def register() -> None:
    register_panel(
        key="proposals.queue",
        section=Section.QUEUE,
        order=10,
        build=queue_panel,
        app_label="proposals",
    )
