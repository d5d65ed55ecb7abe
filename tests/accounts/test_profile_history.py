"""Residence, birth year and gender change only under a cooldown that belongs to the phone number.

The attacker is a citizen with one SIM who wants to vote in every gu's polls, or in polls for
another age group or gender: they change their profile, or delete the account and sign up again
with the same number (~30 s a cycle). Neither may move the clock.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ProfileChange
from accounts.phone import phone_key
from districts.models import District
from tests.accounts.test_auth_flows import sign_up

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
PHONE = "+821055501234"


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # The re-sign-up cycle is what is attacked here, not its pace (allauth's per-number limit and
    # the SMS budget slow it to one cycle per 30 s; tests/security/test_sms_abuse.py covers them).
    settings.ACCOUNT_RATE_LIMITS = False


def _gus(n: int) -> list[District]:
    return list(District.objects.filter(level=District.Level.GU, is_active=True)[:n])


def _me(client: APIClient, token: str):
    return client.get(ME, HTTP_X_SESSION_TOKEN=token)


def _patch(client: APIClient, token: str, data: dict):
    return client.patch(ME, data, format="json", HTTP_X_SESSION_TOKEN=token)


def _delete_account(client: APIClient, token: str) -> None:
    assert client.delete(ME, HTTP_X_SESSION_TOKEN=token).status_code == 204


def test_deleting_and_signing_up_again_keeps_the_residence_cooldown():
    """One SIM, two gus: the second account cannot set another residence until the first
    account's cooldown has passed."""
    first, second = _gus(2)
    client = APIClient()
    token = sign_up(client, PHONE)
    assert _patch(client, token, {"district": first.code}).status_code == 200

    _delete_account(client, token)
    token = sign_up(client, PHONE)

    response = _patch(client, token, {"district": second.code})
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "residence_change_too_soon"
    assert response.json()["next_change_at"]
    assert _me(client, token).json()["district"] is None
    assert _me(client, token).json()["next_change_at"]["residence"] is not None


def test_the_clock_is_the_numbers_and_expires_with_the_cooldown(settings):
    first, second = _gus(2)
    client = APIClient()
    token = sign_up(client, PHONE)
    assert _patch(client, token, {"district": first.code}).status_code == 200
    _delete_account(client, token)
    # The cooldown passes.
    ProfileChange.objects.filter(phone_key=phone_key(PHONE)).update(
        at=timezone.now() - timedelta(days=settings.RESIDENCE_CHANGE_COOLDOWN_DAYS + 1)
    )
    token = sign_up(client, PHONE)
    assert _patch(client, token, {"district": second.code}).status_code == 200


def test_another_number_is_not_held_back():
    """The clock is per number: a neighbour's sign-up is not blocked by someone else's history."""
    first, _second = _gus(2)
    client = APIClient()
    token = sign_up(client, PHONE)
    assert _patch(client, token, {"district": first.code}).status_code == 200
    other = sign_up(APIClient(), "+821055509999")
    assert _patch(APIClient(), other, {"district": first.code}).status_code == 200


@pytest.mark.parametrize(
    ("field", "first", "second"),
    [("birth_year", 1990, 2004), ("gender", "male", "female")],
)
def test_birth_year_and_gender_are_declared_once_then_wait(field, first, second):
    """Targeting relies on age and gender: declaring is free, changing waits for the cooldown —
    and deleting the account does not reset it."""
    client = APIClient()
    token = sign_up(client, PHONE)
    assert _patch(client, token, {field: first}).status_code == 200

    response = _patch(client, token, {field: second})
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "profile_change_too_soon"
    assert body["field"] == field
    assert body["next_change_at"]
    assert _me(client, token).json()[field] == first

    _delete_account(client, token)
    token = sign_up(client, PHONE)
    assert _patch(client, token, {field: second}).status_code == 409
    assert _me(client, token).json()[field] != second


def test_history_holds_no_personal_data():
    """A database reader finds neither the number nor the values in the history."""
    (gu,) = _gus(1)
    client = APIClient()
    token = sign_up(client, PHONE)
    _patch(client, token, {"district": gu.code, "birth_year": 1987, "gender": "female"})
    rows = list(ProfileChange.objects.values())
    assert {row["field"] for row in rows} == {"residence", "birth_year", "gender"}
    dumped = repr(rows)
    for secret in (PHONE, PHONE[1:], PHONE[3:], gu.code, "1987", "female"):
        assert secret not in dumped
