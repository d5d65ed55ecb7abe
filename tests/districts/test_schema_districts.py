"""Districts and groups as the OpenAPI schema describes them to app developers: codes with their
pattern, levels and kinds as enums, the errors these public reads can give, and every real
answer matching its schema with no undocumented key."""

import pytest

from districts.models import District, Group
from tests.district_codes import JONGNO, SAJIK, SEOUL
from tests.factories import GroupFactory
from tests.schema_answers import assert_documented, component, documented_statuses, ref_of

pytestmark = pytest.mark.django_db

CODE = r"^\d{10}$"


def test_codes_levels_and_kinds_are_typed():
    district = component("DistrictDetail")["properties"]

    assert district["code"]["pattern"] == CODE
    assert district["parent"]["pattern"] == CODE and district["parent"]["nullable"] is True
    assert ref_of(district["level"]) == "LevelEnum"
    assert component("LevelEnum")["enum"] == ["city", "gu", "dong"] == list(District.Level.values)
    assert ref_of(district["gu"]) == "DistrictRef"
    assert ref_of(component("Group")["properties"]["kind"]) == "GroupKindEnum"
    assert component("GroupKindEnum")["enum"] == list(Group.Kind.values)
    for name in ("District", "DistrictDetail", "DistrictRef", "Group"):
        schema = component(name)
        assert set(schema["required"]) == set(schema["properties"]), name


def test_public_reads_document_only_the_errors_they_can_give():
    # No throttle, no body: never 403, 409, 413, 415 or 429.
    for path in ("/api/v1/districts/", "/api/v1/districts/{code}/", "/api/v1/groups/"):
        assert documented_statuses("GET", path) == {200, 400, 401, 404, 503}, path


def test_real_answers_match_the_schema(api):
    GroupFactory()
    GroupFactory(kind=Group.Kind.MANAGED)

    answers = [
        api.get("/api/v1/districts/"),
        api.get("/api/v1/districts/", {"parent": JONGNO, "level": "dong"}),
        api.get("/api/v1/districts/", {"q": "종로", "include_inactive": "true"}),
        api.get(f"/api/v1/districts/{SEOUL}/"),
        api.get(f"/api/v1/districts/{JONGNO}/"),
        api.get(f"/api/v1/districts/{SAJIK}/"),
        api.get("/api/v1/groups/"),
        api.get("/api/v1/districts/", {"parent": "12"}),
        api.get("/api/v1/districts/9999999999/"),
        api.get("/api/v1/groups/", {"page": 5}),
        api.get("/api/v1/groups/", HTTP_X_SESSION_TOKEN="not-a-token"),
    ]

    assert [r.status_code for r in answers] == [200] * 7 + [400, 404, 404, 401]
    assert answers[5].json()["gu"] == {"code": JONGNO, "name": "종로구"}
    for response in answers:
        assert_documented(response)
