"""Only the holder of a number changes it: by proving the new number by SMS, with the old one told.

Attackers: an official who would move a citizen's account to their own SIM (then log in by SMS
code and vote as them), and a thief holding a stolen session who does the same from the app.
"""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from accounts import sms
from accounts.models import Verification
from audit.models import AuditEntry
from tests.accounts.test_auth_flows import BASE, VERIFY_PHONE, last_code, post, sign_up, texts_to
from tests.factories import CitizenFactory, OfficialFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
PHONE_BOOK = f"{BASE}/account/phone"
OLD = "+821055502222"
NEW = "+821055503333"


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.ACCOUNT_RATE_LIMITS = False


def _change_phone(client: APIClient, token: str, new: str):
    response = post(client, PHONE_BOOK, {"phone": new}, token)
    assert response.status_code == 202, response.content
    return post(client, VERIFY_PHONE, {"code": last_code(new)}, token)


def test_citizen_changes_number_by_proving_the_new_one_and_the_old_one_is_told(
    django_capture_on_commit_callbacks,
):
    client = APIClient()
    token = sign_up(client, OLD)
    user = User.objects.get(phone=OLD)
    sms.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = _change_phone(client, token, NEW)

    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.phone == NEW
    assert user.phone_verified
    told = texts_to(OLD)
    assert len(told) == 1
    assert "+82 10-****-3333" in told[0]
    assert NEW not in told[0]
    entry = AuditEntry.objects.get(subject_type="citizen", subject_id=user.pk)
    assert entry.action == "change_phone"
    assert entry.changes == {"phone": ["+82 10-****-2222", "+82 10-****-3333"]}


def test_the_new_number_is_not_taken_without_its_code():
    client = APIClient()
    token = sign_up(client, OLD)
    response = post(client, PHONE_BOOK, {"phone": NEW}, token)
    assert response.status_code == 202
    wrong = post(client, VERIFY_PHONE, {"code": "000000"}, token)
    assert wrong.status_code == 400
    assert User.objects.get(phone=OLD)
    assert not User.objects.filter(phone=NEW).exists()


def test_resident_verification_does_not_follow_a_new_number():
    """Resident verification vouched for the subscriber of the old number."""
    client = APIClient()
    token = sign_up(client, OLD)
    User.objects.filter(phone=OLD).update(verification=Verification.RESIDENT)
    assert _change_phone(client, token, NEW).status_code == 200
    assert User.objects.get(phone=NEW).verification == Verification.PHONE


def test_a_number_with_an_account_is_not_taken_over_nor_revealed():
    """Moving onto someone else's number fails the same way for registered and free numbers."""
    victim = CitizenFactory(phone=NEW)
    client = APIClient()
    token = sign_up(client, OLD)
    response = post(client, PHONE_BOOK, {"phone": NEW}, token)
    assert response.status_code == 202, response.content
    code = last_code(NEW)
    post(client, VERIFY_PHONE, {"code": code}, token)
    victim.refresh_from_db()
    assert victim.phone == NEW
    assert User.objects.get(phone=OLD)


def test_no_official_can_change_a_phone_in_the_admin(client):
    """The finding: an official with the phone permission edited the number in the admin, then
    logged in as the citizen by SMS code. The field is read only for every official, and the form
    cannot be saved by anyone but a superuser — who cannot change it either."""
    citizen = CitizenFactory(phone=OLD)
    for official in (
        OfficialFactory(role="official"),
        OfficialFactory(role="official", is_superuser=True),
    ):
        client.force_login(official)
        page = client.get(f"/admin/accounts/user/{citizen.pk}/change/")
        assert page.status_code == 200
        assert "phone" not in page.context["adminform"].form.fields
        client.post(
            f"/admin/accounts/user/{citizen.pk}/change/",
            {"phone": NEW, "gender": "undisclosed", "verification": "0", "is_active": "on"},
        )
        citizen.refresh_from_db()
        assert citizen.phone == OLD
    assert not User.objects.filter(phone=NEW).exists()
