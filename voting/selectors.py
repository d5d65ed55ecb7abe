"""Reads in the voting domain: what a citizen sees of polls, in a fixed number of queries."""

from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from accounts.models import User
from voting import bilingual, eligibility, receipts, scoping, tallies
from voting.models import BoardTracker, Envelope, Option, Participation, Poll, PollImage


class Status:
    OPEN = "open"
    UPCOMING = "upcoming"
    CLOSED = "closed"
    CHOICES = (OPEN, UPCOMING, CLOSED)


def _with_status(queryset: QuerySet[Poll], status: str, now: datetime) -> QuerySet[Poll]:
    queryset = queryset.filter(published=True)
    if status == Status.UPCOMING:
        return queryset.filter(opens_at__gt=now).order_by("opens_at", "closes_at", "id")
    if status == Status.CLOSED:
        # Most recently closed first: the results people are waiting for.
        return queryset.filter(closes_at__lte=now).order_by("-closes_at", "-id")
    return queryset.filter(opens_at__lte=now, closes_at__gt=now).order_by("closes_at", "id")


def _has_voted(voter: eligibility.Voter) -> Exists:
    # By the account, or by the phone's key: an account deleted after voting leaves its
    # participation to the key, and the same number signed up again has voted (and may not again).
    return Exists(
        Participation.objects.filter(poll_id=OuterRef("pk")).filter(
            Q(voter_id=voter.user_id) | Q(voter_key=voter.voter_key)
        )
    )


def _cover_images() -> Prefetch:
    return Prefetch(
        "images", queryset=PollImage.objects.filter(is_cover=True), to_attr="cover_images"
    )


def poll_list(
    *,
    voter: eligibility.Voter,
    now: datetime,
    status: str = Status.OPEN,
    scope: str = "mine",
    category: str | None = None,
) -> QuerySet[Poll]:
    """The app's list as of ``now``: polls annotated with ``in_audience``, ``has_voted`` and
    ``participants`` (ballots counted), each row only what differs from citizen to citizen
    (voting/poll_list.py adds the rest from its cache).

    By default only polls whose audience includes ``voter``; ``scope="all"`` lists every
    published poll of the status, each saying whether the citizen may vote in it.
    """
    in_audience = eligibility.eligible_expression(voter)
    # A private poll is missing from every scope (``scope=all`` too) for anyone not on its list.
    queryset = _with_status(Poll.objects.filter(eligibility.visible(voter.user_id)), status, now)
    if category is not None:
        queryset = queryset.filter(category__slug=category)
    if scope != "all":
        queryset = queryset.filter(in_audience.expression)
    return queryset.annotate(
        in_audience=in_audience,
        has_voted=_has_voted(voter),
        participants=tallies.participants(),
    )


def poll_cards(*, poll_ids: list[int]) -> QuerySet[Poll]:
    """What every citizen sees alike of each poll in a list: its card (voting/poll_cards.py)."""
    return (
        Poll.objects.filter(pk__in=poll_ids)
        .select_related("category")
        .prefetch_related(_cover_images())
    )


# The poll row's columns the citizen's part of a detail needs: when it opens and closes, and who
# may read its results.
DETAIL_COLUMNS = (
    "updated_at",
    "opens_at",
    "closes_at",
    "results_visibility",
    "results_published_at",
)


def poll_detail(*, voter: eligibility.Voter, poll_id: int) -> QuerySet[Poll]:
    """One published poll's row for ``voter`` (drafts do not exist): every rule's verdict
    (``rule_<reason>``), ``has_voted``, ``participants`` and ``DETAIL_COLUMNS``; the rest of the
    page is the poll's card (``poll_detail_card``). A private poll the citizen may not see is
    not found, as a draft."""
    return eligibility.annotate_verdicts(
        Poll.objects.filter(eligibility.visible(voter.user_id), pk=poll_id, published=True), voter
    ).annotate(has_voted=_has_voted(voter), participants=tallies.participants())


def poll_detail_card(*, poll_id: int) -> Poll | None:
    """What every citizen sees alike of one poll, for its card (voting/poll_cards.py)."""
    return (
        Poll.objects.filter(pk=poll_id)
        .select_related("category", "outcome")
        .prefetch_related(
            Prefetch("options", queryset=Option.objects.order_by("position", "id")),
            Prefetch("images", queryset=PollImage.objects.order_by("-is_cover", "position", "id")),
            "districts",
            "groups",
        )
        .first()
    )


def poll_for_ballot(*, poll_id: int) -> Poll:
    """The poll a ballot is cast in, with its options (a draft is not found)."""
    poll = (
        Poll.objects.filter(pk=poll_id, published=True)
        .prefetch_related(Prefetch("options", queryset=Option.objects.only("id", "poll_id")))
        .first()
    )
    if poll is None:
        raise Http404
    return poll


def results_visible_to(*, poll: Poll, user: User) -> bool:
    """Citizens see results as the poll's visibility says; officials see them at any time for
    the polls in their jurisdiction (a gu's official not another gu's, as in the admin). Staff
    accounts without the officials' permission to view polls (operators) are citizens here, as
    on the live dashboards."""
    if user.is_staff and scoping.may_see_live(user, poll):
        return True
    return poll.results_visible_to_citizens()


def may_see(*, poll: Poll, user: User | AnonymousUser | None) -> bool:
    """Whether ``poll`` exists for ``user``: a public poll for anyone; a private one for its
    closed list (``eligibility.visible``) and for the officials who may watch it live, as they
    see it in the admin. Public polls cost no query."""
    if not poll.private:
        return True
    if user is None or not isinstance(user, User) or not user.is_authenticated:
        return False
    if user.is_staff and scoping.may_see_live(user, poll):
        return True
    return Poll.objects.filter(eligibility.visible(user.pk), pk=poll.pk).exists()


def published_poll(*, poll_id: int, user: User | AnonymousUser | None = None) -> Poll:
    """A published poll that exists for ``user`` (``may_see``); without a user, a private poll
    is not found either."""
    # With its count's progress, in the same query: the results' cache stamp (results_cache.py).
    poll = Poll.objects.filter(pk=poll_id, published=True).select_related("count_state").first()
    if poll is None or not may_see(poll=poll, user=user):
        raise Http404
    return poll


def polls_open_to(user: User) -> QuerySet[Poll]:
    """The polls ``user`` may vote in right now (one query)."""
    return eligibility.open_to(eligibility.Voter.of(user))


def receipt_status(*, code: str, user: User | AnonymousUser | None = None) -> dict | None:
    """What a receipt says: its poll, and ``sealed`` or ``counted`` in batch N — never the choice,
    so a voter cannot use it to prove to anyone how they voted. None: no such receipt, or one of
    a private poll that does not exist for ``user`` (its title would say it does)."""
    if not receipts.looks_valid(code):
        return None
    found, private = _receipt_status(code)
    if found is not None and private:
        # Only a private poll's receipt costs a second query.
        poll = Poll.objects.get(pk=found["poll"])
        if not may_see(poll=poll, user=user):
            return None
    return found


def _receipt_status(code: str) -> tuple[dict | None, bool]:
    envelope = (
        Envelope.objects.filter(lookup=receipts.envelope_lookup(code))
        .values("poll_id", "poll__title", "poll__title_en", "poll__private")
        .first()
    )
    if envelope is not None:
        return {
            "poll": envelope["poll_id"],
            "poll_title": bilingual.localized(envelope["poll__title"], envelope["poll__title_en"]),
            "status": "sealed",
            "batch": None,
        }, envelope["poll__private"]
    tracked = (
        BoardTracker.objects.filter(tracker=receipts.tracker(code))
        .values(
            "entry__poll_id",
            "entry__poll__title",
            "entry__poll__title_en",
            "entry__poll__private",
            "entry__seq",
        )
        .first()
    )
    if tracked is None:
        return None, False
    return {
        "poll": tracked["entry__poll_id"],
        "poll_title": bilingual.localized(
            tracked["entry__poll__title"], tracked["entry__poll__title_en"]
        ),
        "status": "counted",
        "batch": tracked["entry__seq"],
    }, tracked["entry__poll__private"]


# --- Officials' live dashboards ------------------------------------------------------------------


def live_poll_for(*, user: User, poll_id: int) -> Poll | None:
    """The poll, if ``user`` may watch it live (an official of its jurisdiction with the
    permission to view polls; drafts too, to rehearse); None otherwise, as if it did not exist."""
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is None or not scoping.may_see_live(user, poll):
        return None
    return poll


def live_open_polls(*, user: User, now: datetime) -> list[Poll]:
    """The polls open at ``now`` in the official's jurisdiction, soonest closing first."""
    visible = scoping.polls_visible_to(user, Poll.objects.open_at(now))
    return list(visible.order_by("closes_at", "pk"))


def next_opening_at(*, user: User, now: datetime) -> datetime | None:
    """When the next published poll in the official's jurisdiction opens (None: none will)."""
    upcoming = scoping.polls_visible_to(user, Poll.objects.filter(published=True, opens_at__gt=now))
    return upcoming.order_by("opens_at").values_list("opens_at", flat=True).first()
