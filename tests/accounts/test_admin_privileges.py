"""Officials edit citizens in the admin; they can never raise anyone's privileges."""

import pytest

from accounts.models import CitizenChangeRequest, Verification
from audit.models import AuditEntry
from tests.factories import CitizenFactory, OfficialFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def official_client(client):
    official = OfficialFactory(role="official")
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


def test_resident_verification_needs_a_second_official(official_client):
    """Four eyes: the bulk action only asks (with a reason); a colleague's approval applies it."""
    client, official = official_client
    citizen = CitizenFactory()
    response = client.post(
        "/admin/accounts/user/",
        {
            "action": "request_resident_verification",
            "_selected_action": [citizen.pk],
            "reason": "주민등록등본 확인 (동 주민센터)",
        },
    )
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert citizen.verification == Verification.PHONE
    change = CitizenChangeRequest.objects.get(citizen=citizen)
    assert change.requested_by == official

    # The requester cannot approve their own request.
    client.post(
        "/admin/accounts/citizenchangerequest/",
        {"action": "approve", "_selected_action": [change.pk]},
    )
    citizen.refresh_from_db()
    assert citizen.verification == Verification.PHONE

    colleague = OfficialFactory(role="official")
    client.force_login(colleague)
    client.post(
        "/admin/accounts/citizenchangerequest/",
        {"action": "approve", "_selected_action": [change.pk]},
    )
    citizen.refresh_from_db()
    assert citizen.verification == Verification.RESIDENT
    actions = list(
        AuditEntry.objects.filter(subject_type="citizen", subject_id=citizen.pk)
        .order_by("id")
        .values_list("action", "actor_id")
    )
    assert actions == [
        ("request_verification", official.pk),
        ("approve_verification", colleague.pk),
    ]
