import pytest
from django.test import Client

from districts.models import GroupMembership, PendingGroupMember
from tests.factories import CitizenFactory, GroupFactory, OfficialFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_() -> Client:
    client = Client()
    client.force_login(OfficialFactory(is_superuser=True))
    return client


@pytest.mark.parametrize(
    ("term", "code"),
    [("종로1·2·3·4가동", "1111061500"), ("창신1동", "1111067000"), ("Jongno-gu", "1111000000")],
)
def test_district_changelist_search_uses_the_normalised_key(admin_client_, term, code):
    response = admin_client_.get("/admin/districts/district/", {"q": term})
    assert response.status_code == 200
    assert [district.code for district in response.context["cl"].result_list] == [code]


def test_district_search_keeps_the_list_filters(admin_client_):
    response = admin_client_.get("/admin/districts/district/", {"q": "종로", "level__exact": "gu"})
    assert [district.code for district in response.context["cl"].result_list] == ["1111000000"]


def test_district_autocomplete_finds_by_alias(admin_client_):
    response = admin_client_.get(
        "/admin/autocomplete/",
        {
            "app_label": "districts",
            "model_name": "district",
            "field_name": "parent",
            "term": "창신1동",
        },
    )
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == ["1111067000"]


def test_district_code_is_read_only_and_districts_cannot_be_deleted(admin_client_):
    response = admin_client_.get("/admin/districts/district/1111067000/change/")
    assert response.status_code == 200
    assert "code" not in response.context["adminform"].form.fields
    delete = admin_client_.get("/admin/districts/district/1111067000/delete/")
    assert delete.status_code == 403


def test_group_admin_counts_members_and_hides_phone_numbers(admin_client_):
    group = GroupFactory(name="학부모")
    for citizen in CitizenFactory.create_batch(3):
        GroupMembership.objects.create(group=group, user=citizen)
    PendingGroupMember.objects.create(group=group, phone="+821099998888")

    changelist = admin_client_.get("/admin/districts/group/")
    assert changelist.status_code == 200
    (row,) = changelist.context["cl"].result_list
    assert row._member_count == 3

    change = admin_client_.get(f"/admin/districts/group/{group.pk}/change/")
    assert change.status_code == 200
    (pending_inline,) = change.context["inline_admin_formsets"]
    assert pending_inline.formset.initial_form_count() == 1  # shown, but without the number
    html = change.content.decode()
    assert "99998888" not in html
    members = GroupMembership.objects.filter(group=group).select_related("user")
    assert not any(member.user.phone[3:] in html for member in members)
