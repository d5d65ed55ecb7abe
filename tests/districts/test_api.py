import pytest

from districts.models import District, Group
from tests.district_codes import DONGDAEMUN, JONGNO, SEOUL
from tests.factories import GroupFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/districts/"


def _codes(response) -> list[str]:
    return [item["code"] for item in response.json()["results"]]


def test_without_parameters_lists_the_city(api):
    response = api.get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (1, None, None)
    assert body["results"] == [
        {
            "code": SEOUL,
            "level": "city",
            "name": "서울특별시",
            "name_ko": "서울특별시",
            "name_en": "Seoul",
            "parent": None,
            "is_active": True,
        }
    ]


def test_the_city_has_25_gu_in_one_page_sorted_by_code(api):
    body = api.get(LIST, {"parent": SEOUL}).json()
    assert body["count"] == 25
    assert body["next"] is None
    codes = [item["code"] for item in body["results"]]
    assert codes == sorted(codes)
    assert codes[0] == JONGNO
    assert {item["level"] for item in body["results"]} == {"gu"}
    assert {item["parent"] for item in body["results"]} == {SEOUL}


def test_a_gu_lists_its_active_dongs_only(api):
    body = api.get(LIST, {"parent": DONGDAEMUN}).json()
    codes = [item["code"] for item in body["results"]]
    assert body["count"] == len(codes) == 15
    assert "1123051500" in codes and "1123053300" in codes
    assert "1123053600" not in codes  # 용신동, retired
    assert all(code.startswith("11230") for code in codes)


def test_include_inactive_shows_retired_districts(api):
    body = api.get(LIST, {"parent": DONGDAEMUN, "include_inactive": "1"}).json()
    retired = [item for item in body["results"] if item["code"] == "1123053600"]
    assert body["count"] == 16
    assert retired == [
        {
            "code": "1123053600",
            "level": "dong",
            "name": "용신동",
            "name_ko": "용신동",
            "name_en": "Yongsin-dong",
            "parent": DONGDAEMUN,
            "is_active": False,
        }
    ]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("창신1동", ["1111067000"]),  # official: 창신제1동
        ("창신제1동", ["1111067000"]),
        ("종로1·2·3·4가동", ["1111061500"]),  # official: 종로1.2.3.4가동
        ("종로 1.2.3.4가동", ["1111061500"]),
        ("Changsin 1", ["1111067000"]),
        ("JONGNO-GU", [JONGNO]),
        ("1111067", ["1111067000"]),  # code prefix
    ],
)
def test_search_by_name_alias_english_or_code(api, q, expected):
    assert _codes(api.get(LIST, {"q": q})) == expected


def test_search_jongno_finds_the_gu_first_then_its_dongs(api):
    codes = _codes(api.get(LIST, {"q": "jongno"}))
    assert codes[0] == JONGNO
    assert set(codes) == {JONGNO, "1111061500", "1111063000"}


def test_search_with_level_and_within_a_parent(api):
    assert _codes(api.get(LIST, {"q": "jongno", "level": "gu"})) == [JONGNO]
    # 신사동 exists in Gangnam-gu and Gwanak-gu.
    assert _codes(api.get(LIST, {"q": "신사동"})) == ["1162068500", "1168051000"]
    assert _codes(api.get(LIST, {"q": "신사동", "parent": "1168000000"})) == ["1168051000"]
    # Within the city: the whole subtree, not only its direct children.
    assert _codes(api.get(LIST, {"q": "신사동", "parent": SEOUL})) == ["1162068500", "1168051000"]


def test_search_excludes_retired_unless_asked(api):
    assert _codes(api.get(LIST, {"q": "용신동"})) == []
    assert _codes(api.get(LIST, {"q": "용신동", "include_inactive": "true"})) == ["1123053600"]


def test_level_alone_lists_that_level(api):
    body = api.get(LIST, {"level": "dong", "page_size": 500}).json()
    assert body["count"] == 427
    assert len(body["results"]) == 427


def test_name_follows_the_request_language(api):
    english = api.get(LIST, {"parent": SEOUL}, HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]
    korean = api.get(LIST, {"parent": SEOUL}, HTTP_ACCEPT_LANGUAGE="ko").json()["results"][0]
    assert (english["name"], korean["name"]) == ("Jongno-gu", "종로구")
    assert english["name_ko"] == korean["name_ko"] == "종로구"


def test_unknown_parent_is_404_in_the_project_format(api):
    response = api.get(LIST, {"parent": "1199000000"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "1199000000" in response.json()["detail"]


@pytest.mark.parametrize("params", [{"parent": "11000"}, {"parent": "abcdefghij"}, {"level": "ri"}])
def test_malformed_parameters_are_400_invalid_input(api, params):
    response = api.get(LIST, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_input"
    assert list(body["fields"]) == list(params)


def test_list_query_count_is_constant(api, django_assert_num_queries):
    with django_assert_num_queries(2):  # COUNT + page
        assert api.get(LIST).status_code == 200
    with django_assert_num_queries(3):  # parent exists? + COUNT + page
        assert api.get(LIST, {"parent": SEOUL}).json()["count"] == 25
    with django_assert_num_queries(3):
        response = api.get(LIST, {"parent": DONGDAEMUN, "include_inactive": "1"})
    assert response.json()["count"] == 16
    with django_assert_num_queries(3):
        assert api.get(LIST, {"q": "동", "parent": SEOUL, "level": "dong"}).json()["count"] == 427
    with django_assert_num_queries(2):
        assert api.get(LIST, {"level": "dong", "page_size": 500}).status_code == 200


def test_detail_of_a_dong_names_its_gu(api, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = api.get("/api/v1/districts/1111067000/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.json() == {
        "code": "1111067000",
        "level": "dong",
        "name": "Changsin 1(il)-dong",
        "name_ko": "창신제1동",
        "name_en": "Changsin 1(il)-dong",
        "parent": JONGNO,
        "is_active": True,
        "gu": {"code": JONGNO, "name": "Jongno-gu"},
    }


def test_detail_of_a_gu_and_of_the_city(api):
    gu = api.get(f"/api/v1/districts/{JONGNO}/").json()
    assert (gu["parent"], gu["gu"]) == (SEOUL, {"code": JONGNO, "name": "종로구"})
    city = api.get(f"/api/v1/districts/{SEOUL}/").json()
    assert (city["parent"], city["gu"]) == (None, None)


def test_detail_of_a_retired_district_is_served(api):
    body = api.get("/api/v1/districts/1123053600/").json()
    assert (body["is_active"], body["gu"]["code"]) == (False, DONGDAEMUN)


def test_detail_unknown_is_404_and_malformed_is_400(api):
    missing = api.get("/api/v1/districts/1199000000/")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    malformed = api.get("/api/v1/districts/11110/")
    assert (malformed.status_code, malformed.json()["code"]) == (400, "invalid_input")


def test_public_even_for_a_signed_in_citizen(citizen_api):
    assert citizen_api.get(LIST).status_code == 200


def test_a_garbage_session_token_is_still_rejected(api):
    # Deliberate: an app that sends a dead token must log in again rather than browse anonymously.
    response = api.get(LIST, HTTP_X_SESSION_TOKEN="garbage")
    assert response.status_code == 401


def test_groups_lists_active_groups_sorted_by_name(api, django_assert_num_queries):
    youth = GroupFactory(
        name="청년", name_en="Youth", description="19–34", kind=Group.Kind.SELF_DECLARED
    )
    parents = GroupFactory(name="학부모", name_en="Parents", kind=Group.Kind.MANAGED)
    GroupFactory(name="폐지된 그룹", is_active=False)
    with django_assert_num_queries(2):
        response = api.get("/api/v1/groups/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["results"] == [
        {
            "id": youth.pk,
            "name": "청년",
            "name_en": "Youth",
            "description": "19–34",
            "kind": "self",
        },
        {
            "id": parents.pk,
            "name": "학부모",
            "name_en": "Parents",
            "description": "",
            "kind": "managed",
        },
    ]


def test_groups_are_paginated(api):
    GroupFactory.create_batch(25)
    body = api.get("/api/v1/groups/").json()
    assert body["count"] == 25
    assert len(body["results"]) == 20
    assert body["next"] is not None


def test_search_key_index_is_what_the_model_computes():
    # Guards the API's search against the loader and save() drifting apart.
    district = District.objects.get(code="1111067000")
    assert district.search_key == "창신1동 changsin1ildong"
