"""Who may vote in which poll: the audience rules, as database expressions.

Every rule is written once, as a condition on the poll row for a given citizen, and used three
ways: to filter the polls open to a citizen (one query), to annotate one poll with each rule's
verdict (so the refusal can say why), and, run the other way, to count a poll's audience.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from accounts.models import User
from districts.models import District, Group, GroupMembership
from voting.models import Poll, PollInvitation
from voting.voter_keys import voter_key


class Reason:
    """Why a citizen may not vote, in the order they are reported."""

    NOT_OPEN = "not_open"
    VERIFICATION = "verification"
    PROFILE_INCOMPLETE = "profile_incomplete"
    DISTRICT = "district"
    GROUP = "group"
    AGE = "age"


@dataclass(frozen=True)
class Voter:
    """The facts about a citizen the audience rules look at."""

    user_id: int | None
    verification: int
    # The residence and every district containing it (dong → gu → city); empty when unknown.
    district_codes: tuple[str, ...]
    birth_year: int | None

    # The gu and dong of the residence, as ballots record them ("" when unknown).
    gu_code: str = ""
    dong_code: str = ""
    # The keyed hash of the phone (voting/voter_keys.py): a vote of an earlier account with the
    # same number is this citizen's vote too.
    voter_key: str = ""

    @classmethod
    def of(cls, user: User) -> "Voter":
        codes: tuple[str, ...] = ()
        gu_code = dong_code = ""
        if user.district_id:
            row = _ancestry(user.district_id)
            if row:
                level, *chain = row
                codes = tuple(code for code in chain if code)
                if level == District.Level.DONG:
                    dong_code, gu_code = row[1], row[2]
                elif level == District.Level.GU:
                    gu_code = row[1]
        return cls(
            user_id=user.pk,
            verification=user.verification,
            district_codes=codes,
            birth_year=user.birth_year,
            gu_code=gu_code,
            dong_code=dong_code,
            voter_key=voter_key(user.phone, user.pk),
        )

    def age(self, today: date | None = None) -> int | None:
        if self.birth_year is None:
            return None
        return (today or timezone.localdate()).year - self.birth_year


# A district's place in the hierarchy is fixed by its code (a code is never reused for another
# area), so each process can remember it: the ballot path needs no query for the residence.
_ANCESTRY: dict[str, tuple[str, str, str | None, str | None]] = {}


def _ancestry(code: str) -> tuple[str, str, str | None, str | None] | None:
    if code not in _ANCESTRY:
        row = (
            District.objects.filter(code=code)
            .values_list("level", "code", "parent_id", "parent__parent_id")
            .first()
        )
        if row is None:
            return None
        _ANCESTRY[code] = row
    return _ANCESTRY[code]


def _targets_districts() -> Exists:
    return Exists(Poll.districts.through.objects.filter(poll_id=OuterRef("pk")))


def _targets_groups() -> Exists:
    return Exists(Poll.groups.through.objects.filter(poll_id=OuterRef("pk")))


def _has_age_limit() -> Q:
    return Q(min_age__isnull=False) | Q(max_age__isnull=False)


def _invited(user_id: int) -> Exists:
    # A revoked code no longer opens the poll, even once redeemed: revoking is how an official
    # takes back a code that reached the wrong person (a ballot already cast stays).
    return Exists(
        PollInvitation.objects.filter(
            poll_id=OuterRef("pk"), redeemed_by_id=user_id, revoked_at__isnull=True
        )
    )


def _managed_member(user_id: int) -> Exists:
    # Only managed groups: citizens join self-declared ones themselves, which would let anyone
    # into a closed list.
    return Exists(
        Poll.groups.through.objects.filter(
            poll_id=OuterRef("pk"),
            group_id__in=GroupMembership.objects.filter(
                user_id=user_id, group__is_active=True, group__kind=Group.Kind.MANAGED
            ).values("group_id"),
        )
    )


def visible(user_id: int | None) -> Q:
    """The polls whose existence the citizen ``user_id`` may know, as a condition on the poll
    row: every public one; a private one only for members of its managed groups and citizens who
    redeemed one of its invitation codes (voting/invitations.py). Everyone else gets a 404 for
    it, never a 403: a refusal would tell that it exists.

    The condition holds only the citizen's id, which every statement compiled per shape already
    has as a placeholder (voting/voter_sql.py): adding it changes no statement's count."""
    if user_id is None:
        # ``redeemed_by_id=None`` would match every code nobody redeemed yet.
        return Q(private=False)
    return Q(private=False) | Q(_managed_member(user_id)) | Q(_invited(user_id))


def conditions(voter: Voter) -> dict[str, Q]:
    """Each audience rule as a condition on the poll row; a poll passes when all hold."""
    district_match = Exists(
        Poll.districts.through.objects.filter(
            poll_id=OuterRef("pk"), district_id__in=voter.district_codes
        )
    )
    group_match = Exists(
        Poll.groups.through.objects.filter(
            poll_id=OuterRef("pk"),
            group_id__in=GroupMembership.objects.filter(
                user_id=voter.user_id, group__is_active=True
            ).values("group_id"),
        )
    )
    age = voter.age()
    if age is None:
        age_ok = ~_has_age_limit()
    else:
        age_ok = (Q(min_age__isnull=True) | Q(min_age__lte=age)) & (
            Q(max_age__isnull=True) | Q(max_age__gte=age)
        )
    # The profile is complete for a poll unless it needs a residence or an age we do not have.
    profile_complete = Q(pk__isnull=False)
    if not voter.district_codes:
        profile_complete &= ~Q(_targets_districts())
    if voter.birth_year is None:
        profile_complete &= ~_has_age_limit()
    # A private poll's invitation stands for its groups: a guest of a committee's poll is let in
    # by the code the committee handed them. The other rules (district, age...) still hold.
    group_ok = ~Q(_targets_groups()) | Q(group_match)
    if voter.user_id is not None:
        group_ok |= Q(private=True) & Q(_invited(voter.user_id))
    return {
        Reason.NOT_OPEN: Q(published=True, opens_at__lte=Now(), closes_at__gt=Now()),
        Reason.VERIFICATION: Q(min_verification__lte=voter.verification),
        Reason.PROFILE_INCOMPLETE: profile_complete,
        Reason.DISTRICT: ~Q(_targets_districts()) | Q(district_match),
        Reason.GROUP: group_ok,
        Reason.AGE: age_ok,
    }


def open_to(voter: Voter, queryset: QuerySet[Poll] | None = None) -> QuerySet[Poll]:
    """The polls ``voter`` may vote in right now: one query."""
    queryset = Poll.objects.all() if queryset is None else queryset
    queryset = queryset.filter(visible(voter.user_id))
    for condition in conditions(voter).values():
        queryset = queryset.filter(condition)
    return queryset


def eligible_expression(voter: Voter) -> ExpressionWrapper:
    """True where ``voter`` is in the poll's audience (whether or not it is open now)."""
    rules = conditions(voter)
    del rules[Reason.NOT_OPEN]
    combined = Q()
    for condition in rules.values():
        combined &= condition
    return ExpressionWrapper(combined, output_field=BooleanField())


def annotate_verdicts(queryset: QuerySet[Poll], voter: Voter) -> QuerySet[Poll]:
    """Annotate each poll with every rule's verdict, as ``rule_<reason>`` booleans."""
    return queryset.annotate(
        **{
            f"rule_{reason}": ExpressionWrapper(condition, output_field=BooleanField())
            for reason, condition in conditions(voter).items()
        }
    )


# The order refusals are reported in: the first rule that fails is the reason given. For a poll
# that has not opened yet, "not open" comes last (``refusal_from``).
REASONS = (
    Reason.NOT_OPEN,
    Reason.VERIFICATION,
    Reason.PROFILE_INCOMPLETE,
    Reason.DISTRICT,
    Reason.GROUP,
    Reason.AGE,
)
# An upcoming poll's audience reasons come first: "not open" would send the citizen back on the
# opening day to a poll they will never be let into. A poll that is over says "not open" whatever
# else: nothing the citizen does can change it any more.
_UPCOMING_ORDER = (*REASONS[1:], Reason.NOT_OPEN)


def refusal(poll: Poll) -> str | None:
    """The first rule an annotated poll fails, or ``None`` when the citizen may vote."""
    return refusal_from(
        {f"rule_{reason}": getattr(poll, f"rule_{reason}") for reason in REASONS},
        upcoming=poll.status == Poll.Status.UPCOMING,
    )


def refusal_from(verdicts: dict[str, bool], *, upcoming: bool = False) -> str | None:
    """The first rule of ``verdicts`` (``rule_<reason>`` booleans) that fails, or ``None``;
    ``upcoming``: the poll is published and has not opened yet."""
    for reason in _UPCOMING_ORDER if upcoming else REASONS:
        if not verdicts[f"rule_{reason}"]:
            return reason
    return None


@dataclass(frozen=True)
class Audience:
    """A poll's audience rules as plain values: what the poll form posts before anything is
    saved (the admin's live estimate) as much as what a saved poll holds (``of``)."""

    district_codes: tuple[str, ...] = ()
    group_ids: tuple[int, ...] = ()
    private: bool = False
    min_age: int | None = None
    max_age: int | None = None
    min_verification: int = 0
    # A saved private poll's redeemed invitation codes let their holders in too.
    poll_id: int | None = None

    @classmethod
    def of(cls, poll: Poll) -> "Audience":
        return cls(
            district_codes=tuple(poll.districts.values_list("code", flat=True)),
            group_ids=tuple(poll.groups.values_list("pk", flat=True)),
            private=poll.private,
            min_age=poll.min_age,
            max_age=poll.max_age,
            min_verification=poll.min_verification,
            poll_id=poll.pk,
        )


def audience_of(poll: Poll) -> QuerySet[User]:
    """The citizens in ``poll``'s audience, whatever their verification: the rules of
    ``conditions`` run the other way, as one query."""
    return citizens_in(Audience.of(poll))


def citizens_in(audience: Audience) -> QuerySet[User]:
    """The citizens ``audience`` reaches, whatever their verification (``audience_of``)."""
    users = User.objects.filter(is_active=True, phone__isnull=False)
    codes = audience.district_codes
    if codes:
        users = users.filter(
            Q(district_id__in=codes)
            | Q(district__parent_id__in=codes)
            | Q(district__parent__parent_id__in=codes)
        )
    if audience.private:
        # The closed list only: members of its managed groups, holders of its codes (who pass
        # the group rule too, ``conditions``).
        users = users.filter(
            Q(pk__in=_closed_list(audience.group_ids)) | Q(pk__in=_invitees(audience.poll_id))
        )
    elif audience.group_ids:
        users = users.filter(
            Exists(
                GroupMembership.objects.filter(
                    user_id=OuterRef("pk"),
                    group__is_active=True,
                    group_id__in=audience.group_ids,
                )
            )
        )
    year = timezone.localdate().year
    if audience.min_age is not None:
        users = users.filter(birth_year__lte=year - audience.min_age)
    if audience.max_age is not None:
        users = users.filter(birth_year__gte=year - audience.max_age)
    return users


def _closed_list(group_ids: tuple[int, ...]) -> QuerySet[Any]:
    return GroupMembership.objects.filter(
        group__is_active=True, group__kind=Group.Kind.MANAGED, group_id__in=group_ids
    ).values("user_id")


def _invitees(poll_id: int | None) -> QuerySet[Any]:
    if poll_id is None:
        return PollInvitation.objects.none().values("redeemed_by_id")
    return PollInvitation.objects.filter(
        poll_id=poll_id, redeemed_by__isnull=False, revoked_at__isnull=True
    ).values("redeemed_by_id")


def audience_estimate(poll: Poll) -> dict[str, int]:
    """ "Reaches N registered citizens (M verified enough to vote)": one aggregate query."""
    return estimate(Audience.of(poll))


def estimate(audience: Audience) -> dict[str, int]:
    """``audience_estimate`` from the rules alone: the poll form's live estimate."""
    return citizens_in(audience).aggregate(
        registered=Count("pk"),
        verified=Count("pk", filter=Q(verification__gte=audience.min_verification)),
    )
