from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Verification
from districts.models import District, GroupMembership
from tests.conftest import make_session_token
from tests.district_codes import JONGNO, SAJIK, SEOUL, YEOKSAM1
from tests.factories import CitizenFactory, GroupFactory

pytestmark = pytest.mark.django_db
User = get_user_model()

ME = "/api/v1/me/"


def test_me_requires_authentication(api):
    response = api.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_required"


def test_garbage_token_is_refused(api):
    response = api.get(ME, HTTP_X_SESSION_TOKEN="not-a-token")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_session_token"


def test_me_shows_own_profile(citizen, citizen_api):
    group = GroupFactory(name="학부모")
    GroupMembership.objects.create(group=group, user=citizen)
    GroupFactory(name="숨은 그룹", is_active=False).members.add(citizen)

    body = citizen_api.get(ME).json()

    assert body == {
        "id": citizen.pk,
        "phone": citizen.phone,
        "email": None,
        "district": None,
        "birth_year": None,
        "gender": "undisclosed",
        "groups": [{"id": group.pk, "name": "학부모"}],
        "verification": "phone",
        "next_residence_change_at": None,
        "next_change_at": {"residence": None, "birth_year": None, "gender": None},
    }


def test_set_residence_dong_shows_its_gu(citizen_api):
    response = citizen_api.patch(
        ME, {"district": SAJIK, "birth_year": 1987, "gender": "female"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["district"]["code"] == SAJIK
    assert body["district"]["level"] == "dong"
    assert body["district"]["gu"] == {"code": JONGNO, "name": "종로구"}
    assert body["birth_year"] == 1987
    assert body["gender"] == "female"
    # The first residence starts the cooldown: the answer says when the next change is possible.
    assert body["next_residence_change_at"] is not None


def test_names_follow_accept_language(citizen, client_for):
    citizen.district_id = SAJIK
    citizen.save()
    body = client_for(citizen).get(ME, HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["district"]["name"] == "Sajik-dong"
    assert body["district"]["gu"]["name"] == "Jongno-gu"


def test_residence_can_be_a_gu(citizen_api):
    body = citizen_api.patch(ME, {"district": JONGNO}, format="json").json()
    assert body["district"]["level"] == "gu"
    assert body["district"]["gu"]["code"] == JONGNO


def test_residence_change_waits_for_cooldown(citizen, citizen_api, settings):
    settings.RESIDENCE_CHANGE_COOLDOWN_DAYS = 30
    assert citizen_api.patch(ME, {"district": SAJIK}, format="json").status_code == 200

    response = citizen_api.patch(ME, {"district": YEOKSAM1}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "residence_change_too_soon"
    citizen.refresh_from_db()
    assert citizen.district_id == SAJIK
    expected = citizen.district_changed_at + timedelta(days=30)
    # In the API's zone (Asia/Seoul), as every time the REST API answers.
    assert body["next_change_at"] == timezone.localtime(expected).isoformat()


def test_residence_change_allowed_after_cooldown(citizen, citizen_api):
    citizen.district_id = SAJIK
    citizen.district_changed_at = timezone.now() - timedelta(days=31)
    citizen.save()

    response = citizen_api.patch(ME, {"district": YEOKSAM1}, format="json")

    assert response.status_code == 200
    citizen.refresh_from_db()
    assert citizen.district_id == YEOKSAM1


def test_same_residence_again_is_not_a_change(citizen, citizen_api):
    citizen_api.patch(ME, {"district": SAJIK}, format="json")
    citizen.refresh_from_db()
    first_change = citizen.district_changed_at

    response = citizen_api.patch(ME, {"district": SAJIK, "gender": "male"}, format="json")

    assert response.status_code == 200
    citizen.refresh_from_db()
    assert citizen.district_changed_at == first_change
    assert citizen.gender == "male"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"district": "12345"}, "district"),
        ({"district": "9999999999"}, "district"),
        ({"birth_year": 1800}, "birth_year"),
        ({"birth_year": 3000}, "birth_year"),
        ({"birth_year": "nineteen"}, "birth_year"),
        ({"gender": "robot"}, "gender"),
    ],
)
def test_invalid_profile_values_are_400_with_fields(citizen_api, payload, field):
    response = citizen_api.patch(ME, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_input"
    assert field in body["fields"]


def test_city_is_not_a_residence(citizen_api):
    response = citizen_api.patch(ME, {"district": SEOUL}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_district"


def test_inactive_district_is_not_a_residence(citizen_api):
    District.objects.filter(code=SAJIK).update(is_active=False)
    response = citizen_api.patch(ME, {"district": SAJIK}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_district"


@pytest.mark.parametrize(
    "smuggled",
    [
        {"is_staff": True},
        {"is_superuser": True},
        {"verification": "resident"},
        {"phone": "+821099998888"},
        {"id": 1},
    ],
)
def test_read_only_fields_are_refused_and_change_nothing(citizen, citizen_api, smuggled):
    before = User.objects.filter(pk=citizen.pk).values().get()

    response = citizen_api.patch(ME, {"gender": "male", **smuggled}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "read_only_field"
    assert set(body["fields"]) == set(smuggled)
    assert User.objects.filter(pk=citizen.pk).values().get() == before


def test_non_object_body_is_400(citizen_api):
    response = citizen_api.patch(ME, [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_body"


def test_malformed_json_is_400(citizen_api):
    response = citizen_api.patch(ME, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_delete_account_removes_personal_data_and_frees_the_phone(citizen, client_for, api):
    token = make_session_token(citizen)
    group = GroupFactory()
    group.members.add(citizen)
    phone = citizen.phone

    response = api.delete(ME, HTTP_X_SESSION_TOKEN=token)

    assert response.status_code == 204
    assert not User.objects.filter(pk=citizen.pk).exists()
    assert not GroupMembership.objects.filter(user_id=citizen.pk).exists()
    # The session dies with the account.
    assert api.get(ME, HTTP_X_SESSION_TOKEN=token).status_code == 401
    # The number is free to sign up again.
    assert CitizenFactory(phone=phone).pk != citizen.pk


def test_me_query_count_does_not_grow_with_groups(citizen, citizen_api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    citizen.district_id = SAJIK
    citizen.save()

    def queries_for_me() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert citizen_api.get(ME).status_code == 200
        return len(captured)

    GroupFactory().members.add(citizen)
    queries_for_me()  # warms authentication's cache (tests/accounts/test_auth_cache.py)
    with_one_group = queries_for_me()
    for _ in range(5):
        GroupFactory().members.add(citizen)
    assert queries_for_me() == with_one_group <= 3


# --- Groups ------------------------------------------------------------------------------------


def test_join_and_leave_self_declared_group(citizen, citizen_api):
    group = GroupFactory(name="버스 이용자")

    joined = citizen_api.post("/api/v1/me/groups/", {"group": group.pk}, format="json")
    again = citizen_api.post("/api/v1/me/groups/", {"group": group.pk}, format="json")

    assert joined.status_code == 201
    assert joined.json() == {"id": group.pk, "name": "버스 이용자"}
    assert again.status_code == 200
    assert GroupMembership.objects.filter(group=group, user=citizen).count() == 1
    assert [g["id"] for g in citizen_api.get(ME).json()["groups"]] == [group.pk]

    left = citizen_api.delete(f"/api/v1/me/groups/{group.pk}/")
    assert left.status_code == 204
    assert not GroupMembership.objects.filter(group=group, user=citizen).exists()
    assert citizen_api.delete(f"/api/v1/me/groups/{group.pk}/").status_code == 404


def test_managed_groups_cannot_be_joined_or_left(citizen, citizen_api):
    managed = GroupFactory(kind="managed")
    joined = citizen_api.post("/api/v1/me/groups/", {"group": managed.pk}, format="json")
    assert joined.status_code == 403
    assert joined.json()["code"] == "group_managed"
    assert not managed.members.filter(pk=citizen.pk).exists()

    managed.members.add(citizen)
    left = citizen_api.delete(f"/api/v1/me/groups/{managed.pk}/")
    assert left.status_code == 403
    assert left.json()["code"] == "group_managed"
    assert managed.members.filter(pk=citizen.pk).exists()


@pytest.mark.parametrize("group_id", [999_999, "abc", None])
def test_join_unknown_or_malformed_group(citizen_api, group_id):
    response = citizen_api.post("/api/v1/me/groups/", {"group": group_id}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in {"group_unavailable", "invalid_input"}


def test_inactive_group_cannot_be_joined(citizen_api):
    group = GroupFactory(is_active=False)
    response = citizen_api.post("/api/v1/me/groups/", {"group": group.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "group_unavailable"


# --- Verification ------------------------------------------------------------------------------


class ConfirmingVerifier:
    """A stand-in identity provider: confirms evidence {"ok": true} and a residence."""

    def verify(self, *, user, evidence):
        from accounts.identity import IdentityResult

        if evidence.get("ok"):
            return IdentityResult(verified=True, district_code=YEOKSAM1, birth_year=1990)
        return IdentityResult(verified=False, reason="refused_by_provider")


def test_identity_verification_without_provider_is_503(citizen_api):
    response = citizen_api.post("/api/v1/me/identity/", {"evidence": {}}, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "identity_verification_unavailable"


def test_identity_provider_makes_citizen_resident(citizen, citizen_api, settings):
    settings.IDENTITY_VERIFIER = "tests.accounts.test_me.ConfirmingVerifier"
    citizen.district_id = SAJIK
    citizen.district_changed_at = timezone.now()
    citizen.save()

    refused = citizen_api.post("/api/v1/me/identity/", {"evidence": {"ok": False}}, format="json")
    assert refused.status_code == 400
    assert refused.json()["reason"] == "refused_by_provider"
    citizen.refresh_from_db()
    assert citizen.verification == Verification.PHONE

    response = citizen_api.post("/api/v1/me/identity/", {"evidence": {"ok": True}}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["verification"] == "resident"
    # The provider's confirmed residence wins over the self-declared one, cooldown or not.
    assert body["district"]["code"] == YEOKSAM1
    assert body["birth_year"] == 1990
