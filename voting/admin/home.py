"""Voting's panels on the officials' home (accounts/officials_home.py): the polls the official may
see, by status, and the shortcuts to a new poll and to the live dashboards.

The polls panel is one query: every visible poll that is a draft, upcoming, open or closed without
an outcome, numbered within its status (newest first) and counted per status by window functions;
the five newest of each status come back.
"""

from datetime import datetime
from typing import Any

from django.db.models import Case, CharField, Count, F, QuerySet, Value, When, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.officials_home import Entry, Group, Link, Panel, Section, register_panel
from voting import scoping
from voting.admin.base import official_of, reverse_or_none
from voting.admin.filters import AWAITING_OUTCOME
from voting.models import Poll

SHOWN = 5  # per status
_DONE = "done"  # closed with an outcome: not on the home

STATUSES: tuple[tuple[str, Promise], ...] = (
    (Poll.Status.DRAFT, gettext_lazy("Drafts")),
    (Poll.Status.UPCOMING, gettext_lazy("Upcoming")),
    (Poll.Status.OPEN, gettext_lazy("Open now")),
    (AWAITING_OUTCOME, gettext_lazy("Closed, awaiting the outcome")),
)


def home_polls(*, user: User, now: datetime) -> QuerySet[Any, Any]:
    """The official's polls for the home: at most ``SHOWN`` per status, each row (a dict) carrying
    its status (``home_status``), its rank in it and the status's count (``status_count``)."""
    status = Case(
        When(published=False, then=Value(Poll.Status.DRAFT.value)),
        When(opens_at__gt=now, then=Value(Poll.Status.UPCOMING.value)),
        When(closes_at__gt=now, then=Value(Poll.Status.OPEN.value)),
        When(outcome__isnull=True, then=Value(AWAITING_OUTCOME)),
        default=Value(_DONE),
        output_field=CharField(),
    )
    polls = scoping.polls_visible_to(user).annotate(home_status=status).exclude(home_status=_DONE)
    partition = [F("home_status")]
    return (
        polls.annotate(
            home_rank=Window(
                RowNumber(),
                partition_by=partition,
                order_by=[F("created_at").desc(), F("pk").desc()],
            ),
            status_count=Window(Count("pk"), partition_by=partition),
        )
        .filter(home_rank__lte=SHOWN)
        .order_by("home_status", "home_rank")
        .values("pk", "title", "owner_id", "opens_at", "closes_at", "home_status", "status_count")
    )


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _detail(poll: dict[str, Any], status: str) -> str:
    if status == Poll.Status.DRAFT:
        return _("would open %(when)s") % {"when": _when(poll["opens_at"])}
    if status == Poll.Status.UPCOMING:
        return _("opens %(when)s") % {"when": _when(poll["opens_at"])}
    if status == Poll.Status.OPEN:
        return _("closes %(when)s") % {"when": _when(poll["closes_at"])}
    return _("closed %(when)s") % {"when": _when(poll["closes_at"])}


def polls_panel(request: HttpRequest) -> Panel | None:
    user = official_of(request)
    if not user.has_perm("voting.view_poll"):
        return None
    rows: dict[str, list[dict[str, Any]]] = {key: [] for key, _title in STATUSES}
    for poll in home_polls(user=user, now=timezone.now()):
        rows[poll["home_status"]].append(poll)
    changelist = reverse("admin:voting_poll_changelist")
    groups = []
    for key, title in STATUSES:
        polls = rows[key]
        entries = tuple(
            Entry(
                label=poll["title"],
                url=reverse("admin:voting_poll_change", args=[poll["pk"]]),
                detail=_detail(poll, key),
                mine=poll["owner_id"] == user.pk,
            )
            for poll in polls
        )
        count = polls[0]["status_count"] if polls else 0
        see_all = Link(
            label=_("See all %(count)d") % {"count": count},
            url=f"{changelist}?{urlencode({'status': key})}",
        )
        groups.append(Group(key=key, title=title, count=count, entries=entries, see_all=see_all))
    return Panel(groups=tuple(groups))


def shortcuts_panel(request: HttpRequest) -> Panel | None:
    user = official_of(request)
    links = []
    if user.has_perm("voting.add_poll"):
        links.append(
            Link(label=_("New poll"), url=reverse("admin:voting_poll_add"), id="home-new-poll")
        )
    dashboards = reverse_or_none("voting_dashboard:overview")
    if dashboards and user.has_perm("voting.view_poll"):
        links.append(Link(label=_("Live dashboards"), url=dashboards, id="home-dashboards"))
    return Panel(links=tuple(links)) if links else None


def register() -> None:
    register_panel(
        key="voting.polls", section=Section.POLLS, order=10, build=polls_panel, app_label="voting"
    )
    register_panel(
        key="voting.shortcuts",
        section=Section.SHORTCUTS,
        order=10,
        build=shortcuts_panel,
        app_label="voting",
    )
