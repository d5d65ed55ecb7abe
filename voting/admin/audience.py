"""The audience estimate officials read while authoring a poll: "Reaches N registered citizens".

One wording for the saved poll's read-only field (``PollAdmin.audience_estimate``), the form's
live estimate (``voting.admin.authoring``) and the publish confirmation; one counting
(``voting.eligibility.estimate``).
"""

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser
from django.utils.formats import number_format
from django.utils.translation import gettext

from accounts.models import User, Verification
from districts.models import Group
from voting import eligibility
from voting.models import Poll


def may_see_estimate(user: User | AnonymousUser | None, group_ids: Iterable[int]) -> bool:
    """Officials upload managed groups' phone numbers: an estimate over such a group would tell
    one who may not see phone numbers which uploaded numbers have accounts (a one-number group
    reaches 1 or 0), whatever rounding is applied to it."""
    if user is not None and user.has_perm("accounts.view_phone_number"):
        return True
    ids = list(group_ids)
    return not ids or not Group.objects.filter(pk__in=ids, kind=Group.Kind.MANAGED).exists()


def hidden_estimate_text() -> str:
    return gettext(
        "The audience includes a managed group: the estimate is shown to officials "
        "who may see phone numbers."
    )


def estimate_text(audience: eligibility.Audience) -> str:
    """ "Reaches N registered citizens (M phone-verified)", worded with the minimum level."""
    counts = eligibility.estimate(audience)
    values = {
        "registered": number_format(counts["registered"], force_grouping=True),
        "verified": number_format(counts["verified"], force_grouping=True),
    }
    if audience.min_verification >= Verification.RESIDENT:
        text = gettext(
            "Reaches %(registered)s registered citizens (%(verified)s resident-verified)."
        )
    elif audience.min_verification >= Verification.PHONE:
        text = gettext("Reaches %(registered)s registered citizens (%(verified)s phone-verified).")
    else:
        text = gettext("Reaches %(registered)s registered citizens (%(verified)s may vote).")
    return text % values


def audience_estimate_text(poll: Poll) -> str:
    """The saved ``poll``'s estimate (without the managed-group rule: ``estimate_for``)."""
    return estimate_text(eligibility.Audience.of(poll))


def estimate_for(user: User | AnonymousUser | None, audience: eligibility.Audience) -> str:
    """The estimate as ``user`` may read it: hidden over a managed group unless they may see
    phone numbers (``may_see_estimate``)."""
    if not may_see_estimate(user, audience.group_ids):
        return hidden_estimate_text()
    return estimate_text(audience)
