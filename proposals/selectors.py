"""Reads of proposals for citizens, each in a fixed number of queries.

Statuses are read as a citizen would see them: an open proposal past its deadline is expired
already, even before the periodic task writes it (``services.expire_due_proposals``).
Hidden proposals do not exist for anyone but their author.
"""

from django.db.models import BooleanField, Exists, OuterRef, Prefetch, Q, QuerySet, Value
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from proposals.models import Proposal, ProposalImage, ProposalOption, Support

STATUSES = tuple(Proposal.Status.values)
ORDERS = ("newest", "support")
CITY_WIDE = "city"


def _with_status(queryset: QuerySet[Proposal], status: str) -> QuerySet[Proposal]:
    now = timezone.now()
    if status == Proposal.Status.OPEN:
        return queryset.filter(status=status, support_deadline__gt=now)
    if status == Proposal.Status.EXPIRED:
        return queryset.filter(
            Q(status=status) | Q(status=Proposal.Status.OPEN, support_deadline__lte=now)
        )
    return queryset.filter(status=status)


def _visible_to(user: User) -> QuerySet[Proposal]:
    """Proposals not hidden, and the reader's own even when hidden (anonymous readers have
    none: ``author_id=None`` would match the proposals of deleted accounts)."""
    if user.pk is None:
        return Proposal.objects.visible()
    return Proposal.objects.filter(Q(hidden_at__isnull=True) | Q(author_id=user.pk))


def _supported(user: User) -> Exists | Value:
    if user.pk is None:
        return Value(False, BooleanField())
    return Exists(Support.objects.filter(proposal_id=OuterRef("pk"), user_id=user.pk))


def proposal_list(
    *,
    user: User,
    status: str = Proposal.Status.OPEN,
    district: str | None = None,
    order: str = "newest",
) -> QuerySet[Proposal]:
    """Proposals of one status, annotated with ``supported`` (by ``user``).

    ``district``: a gu's code for that gu's proposals, ``"city"`` for the city-wide ones.
    """
    queryset = _with_status(_visible_to(user), status)
    if district == CITY_WIDE:
        queryset = queryset.filter(district__isnull=True)
    elif district:
        queryset = queryset.filter(district_id=district)
    ordering = ["-support_count", "-id"] if order == "support" else ["-created_at", "-id"]
    return (
        queryset.annotate(supported=_supported(user)).select_related("district").order_by(*ordering)
    )


def proposal_detail(*, user: User, proposal_id: int) -> Proposal:
    proposal = (
        _visible_to(user)
        .filter(pk=proposal_id)
        .annotate(supported=_supported(user))
        .select_related("district")
        .prefetch_related(
            Prefetch("options", queryset=ProposalOption.objects.order_by("position", "id")),
            Prefetch("images", queryset=ProposalImage.objects.order_by("position", "id")),
        )
        .first()
    )
    if proposal is None:
        raise Http404
    return proposal


def visible_proposal(*, user: User, proposal_id: int) -> Proposal:
    """The proposal, if ``user`` may see it (a 404 otherwise)."""
    proposal = _visible_to(user).filter(pk=proposal_id).first()
    if proposal is None:
        raise Http404
    return proposal


def effective_status(proposal: Proposal, now=None) -> str:
    if proposal.status == Proposal.Status.OPEN and proposal.support_deadline <= (
        now or timezone.now()
    ):
        return Proposal.Status.EXPIRED
    return proposal.status
