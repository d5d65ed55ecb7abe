"""The /me/ endpoints as the OpenAPI schema describes them to app developers, who generate typed
clients from it: enums where the value is one of a fixed set, named components for nested
objects, and every real answer matching its schema with no undocumented key."""

import pytest

from accounts.models import Verification
from districts.models import District
from tests.district_codes import GANGNAM, JONGNO, SAJIK
from tests.factories import CitizenFactory, GroupFactory
from tests.schema_answers import (
    assert_documented,
    component,
    documented_statuses,
    ref_of,
)

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


# --- The schema itself ---------------------------------------------------------------------------


def test_verification_is_an_enum_of_exactly_the_levels_the_model_has():
    verification = component("Me")["properties"]["verification"]

    assert ref_of(verification) == "VerificationEnum"
    assert component("VerificationEnum")["enum"] == ["unverified", "phone", "resident"]
    # The API's names of the model's levels, lowest first: a new level must reach the schema.
    assert component("VerificationEnum")["enum"] == [level.api_name for level in Verification]


def test_residence_level_is_the_districts_level_enum():
    level = component("Residence")["properties"]["level"]

    assert ref_of(level) == "LevelEnum"
    assert component("LevelEnum")["enum"] == list(District.Level.values)


def test_residence_gu_is_a_nullable_named_component():
    gu = component("Residence")["properties"]["gu"]

    assert ref_of(gu) == "DistrictRef"
    assert gu.get("nullable") is True
    district_ref = component("DistrictRef")
    assert set(district_ref["properties"]) == {"code", "name"}
    assert set(district_ref["required"]) == {"code", "name"}
    assert district_ref["properties"]["code"]["pattern"] == r"^\d{10}$"


def test_every_key_of_me_is_required_because_every_answer_has_it():
    me = component("Me")
    assert set(me["required"]) == set(me["properties"])
    assert me["properties"]["birth_year"]["minimum"] == 1900
    assert me["properties"]["birth_year"]["maximum"] == 2100


def test_each_me_operation_documents_the_errors_it_can_give():
    # Without a body there is nothing to be too large (413) or of the wrong type (415); nothing
    # under /me/ is throttled (429).
    assert documented_statuses("GET", "/api/v1/me/") == {200, 401, 503}
    assert documented_statuses("DELETE", "/api/v1/me/") == {204, 401, 403, 503}
    assert documented_statuses("PATCH", "/api/v1/me/") == {200, 400, 401, 403, 409, 413, 415, 503}
    assert documented_statuses("POST", "/api/v1/me/groups/") == {
        200,
        201,
        400,
        401,
        403,
        413,
        415,
        503,
    }
    assert documented_statuses("DELETE", "/api/v1/me/groups/{group_id}/") == {
        204,
        400,
        401,
        403,
        404,
        503,
    }
    assert documented_statuses("POST", "/api/v1/me/identity/") == {
        200,
        400,
        401,
        403,
        413,
        415,
        503,
    }


# --- Real answers ------------------------------------------------------------------------------


@pytest.mark.parametrize("residence", [None, JONGNO, SAJIK], ids=["none", "gu", "dong"])
def test_me_answers_match_the_schema(client_for, residence):
    citizen = CitizenFactory(district_id=residence, birth_year=1985, email="a@example.com")
    GroupFactory().members.add(citizen)

    response = client_for(citizen).get(ME)

    assert response.status_code == 200
    assert_documented(response)


def test_a_patch_and_its_conflict_match_the_schema(citizen_api):
    first = citizen_api.patch(ME, {"district": SAJIK, "gender": "female"}, format="json")
    assert first.status_code == 200, first.json()
    assert_documented(first)

    # The residence just changed: a second change waits for the cooldown (409, next_change_at).
    again = citizen_api.patch(ME, {"district": GANGNAM}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "residence_change_too_soon"
    assert_documented(again)


def test_a_body_that_is_not_json_is_a_documented_415(citizen_api):
    response = citizen_api.patch(ME, "district=1", content_type="text/plain")

    assert response.status_code == 415
    assert_documented(response)


def test_errors_of_me_match_the_schema(api, citizen_api):
    anonymous = api.get(ME)
    read_only = citizen_api.patch(ME, {"phone": "+821000000000"}, format="json")

    assert (anonymous.status_code, read_only.status_code) == (401, 400)
    assert_documented(anonymous)
    assert_documented(read_only)


def test_group_answers_match_the_schema(citizen_api):
    group = GroupFactory()

    joined = citizen_api.post("/api/v1/me/groups/", {"group": group.pk}, format="json")
    again = citizen_api.post("/api/v1/me/groups/", {"group": group.pk}, format="json")
    left = citizen_api.delete(f"/api/v1/me/groups/{group.pk}/")
    not_a_member = citizen_api.delete(f"/api/v1/me/groups/{group.pk}/")

    assert [r.status_code for r in (joined, again, left, not_a_member)] == [201, 200, 204, 404]
    assert left.content == b""
    for response in (joined, again, left, not_a_member):
        assert_documented(response)


def test_identity_answers_match_the_schema(citizen_api, settings):
    settings.IDENTITY_VERIFIER = None
    unavailable = citizen_api.post("/api/v1/me/identity/", {"evidence": {}}, format="json")
    settings.IDENTITY_VERIFIER = "tests.security.conftest.FakeIdentityProvider"
    refused = citizen_api.post("/api/v1/me/identity/", {"evidence": {}}, format="json")
    verified = citizen_api.post("/api/v1/me/identity/", {"evidence": {"ok": True}}, format="json")

    assert [r.status_code for r in (unavailable, refused, verified)] == [503, 400, 200]
    assert refused.json()["reason"] == "refused_by_provider"
    assert verified.json()["verification"] == "resident"
    for response in (unavailable, refused, verified):
        assert_documented(response)


def test_deleting_the_account_answers_a_bodiless_204(citizen_api):
    response = citizen_api.delete(ME)

    assert response.status_code == 204
    assert response.content == b""
    assert_documented(response)
