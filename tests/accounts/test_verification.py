"""The one verification guard (accounts.verification), as proposals and comments use it."""

import pytest
from django.utils import translation

from accounts.models import Verification
from accounts.verification import VerificationRequired, is_verified, require_verified
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "verified"),
    [
        ({}, True),  # a phone-verified citizen
        ({"verification": Verification.RESIDENT}, True),
        ({"verification": Verification.UNVERIFIED}, False),
        ({"phone_verified": False}, False),  # the level without the phone is not enough
        ({"is_active": False}, False),
    ],
)
def test_phone_verified_at_least(fields, verified):
    assert is_verified(CitizenFactory(**fields)) is verified


def test_a_level_raises_the_bar_but_never_lowers_it():
    phone = CitizenFactory()
    resident = CitizenFactory(verification=Verification.RESIDENT)
    unverified = CitizenFactory(phone_verified=False, verification=Verification.UNVERIFIED)

    assert not is_verified(phone, level=Verification.RESIDENT)
    assert is_verified(resident, level=Verification.RESIDENT)
    assert not is_verified(unverified, level=Verification.UNVERIFIED)


def test_the_refusal_is_one_code_with_the_callers_words():
    unverified = CitizenFactory(phone_verified=False)
    with translation.override("en"), pytest.raises(VerificationRequired) as caught:
        require_verified(unverified, detail="Verify your phone number to take part in discussions.")

    assert caught.value.status_code == 403
    assert caught.value.get_codes() == "verification_required"
    assert str(caught.value.detail) == "Verify your phone number to take part in discussions."
    require_verified(CitizenFactory())  # nothing raised
