"""Officials edit citizens in the admin; they can never raise anyone's privileges."""

import pytest

from accounts.models import Verification
from accounts.roles import ensure_official_group
from tests.factories import CitizenFactory, OfficialFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def official_client(client):
    official = OfficialFactory()
    official.groups.add(ensure_official_group())
    client.force_login(official)
    return client, official


def test_official_cannot_make_themselves_superuser(official_client):
    client, official = official_client
    page = client.get(f"/admin/accounts/user/{official.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    for field in ("is_superuser", "is_staff", "groups", "user_permissions", "jurisdiction"):
        assert field not in form.fields

    client.post(
        f"/admin/accounts/user/{official.pk}/change/",
        {
            "display_name": "x",
            "is_superuser": "on",
            "is_staff": "on",
            "gender": "undisclosed",
            "verification": "0",
        },
    )
    official.refresh_from_db()
    assert not official.is_superuser


def test_official_cannot_open_other_officials_accounts(official_client):
    client, _official = official_client
    other = OfficialFactory()
    citizen = CitizenFactory()
    assert client.get(f"/admin/accounts/user/{other.pk}/change/").status_code == 302
    assert client.get(f"/admin/accounts/user/{citizen.pk}/change/").status_code == 200
    listing = client.get("/admin/accounts/user/")
    shown = {user.pk for user in listing.context["cl"].result_list}
    assert citizen.pk in shown
    assert other.pk not in shown
    assert client.get("/admin/accounts/user/add/").status_code == 403


def test_official_marks_citizen_resident_verified(official_client):
    client, _official = official_client
    citizen = CitizenFactory()
    response = client.post(
        "/admin/accounts/user/",
        {"action": "mark_resident_verified", "_selected_action": [citizen.pk]},
    )
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert citizen.verification == Verification.RESIDENT
