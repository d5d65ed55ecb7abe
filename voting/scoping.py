"""What an official may see and target: city-wide officials everything, a gu's officials their gu.

A poll lies inside a gu when every district of its audience is that gu or one of its dongs. A
poll for all of Seoul (no districts) or that reaches outside is city-wide work.
"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from districts.models import District
from voting.models import Poll

PollDistrict = Poll.districts.through


def is_city_wide(user: User) -> bool:
    return user.is_superuser or user.jurisdiction_id is None


def polls_visible_to(user: User, queryset: QuerySet[Poll] | None = None) -> QuerySet[Poll]:
    queryset = Poll.objects.all() if queryset is None else queryset
    if not (user.is_active and user.is_staff):
        return queryset.none()
    if is_city_wide(user):
        return queryset
    gu = user.jurisdiction_id
    targets = PollDistrict.objects.filter(poll_id=OuterRef("pk"))
    outside = targets.exclude(district_id=gu).exclude(district__parent_id=gu)
    return queryset.filter(Exists(targets), ~Exists(outside))


def may_manage(user: User, poll: Poll) -> bool:
    return polls_visible_to(user, Poll.objects.filter(pk=poll.pk)).exists()


def targetable_districts(user: User) -> QuerySet[District]:
    """The districts an official may put in an audience."""
    districts = District.objects.filter(is_active=True)
    if is_city_wide(user):
        return districts
    gu = user.jurisdiction_id
    return districts.filter(Q(code=gu) | Q(parent_id=gu))


def may_see_live(user: User, poll: Poll) -> bool:
    """Dashboards: officials allowed to view polls, within their jurisdiction."""
    return user.has_perm("voting.view_poll") and may_manage(user, poll)
