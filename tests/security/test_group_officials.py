"""Officials against citizen groups they have no power over: refused in the admin, not just hidden.

A group belongs to a gu (``Group.jurisdiction``) or to the whole city (empty). The attackers are
a gu official of 종로구 in the ready "official" group (given, on top, every group permission,
delete included, and the permission to see phone numbers, so nothing but the jurisdiction stops
them), and a city-wide official. The targets: a city-wide managed group, a managed group of
강남구, and the attacker's own 종로구 group. Every admin form, action and URL of the group admin
is tried; a refusal leaves members, pending places, groups and the audit log as they were.
"""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import User
from audit.models import AuditEntry
from districts import managed_groups
from districts.admin import UPLOAD_CACHE_PREFIX
from districts.models import Group, GroupMembership, PendingGroupMember
from tests.district_codes import GANGNAM, JONGNO
from tests.factories import CitizenFactory, GroupFactory, OfficialFactory

pytestmark = pytest.mark.django_db

GROUPS = "/admin/districts/group/"


def _client(user: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


# Every group permission, delete included, and the phone numbers: only the jurisdiction stops them.
ALL_GROUP_POWERS = [
    *(f"districts.{action}_group" for action in ("add", "change", "delete", "view")),
    "accounts.view_phone_number",
]


@pytest.fixture
def gu_official() -> User:
    return OfficialFactory(role="official", gu=JONGNO, perms=ALL_GROUP_POWERS)


@pytest.fixture
def city_official() -> User:
    return OfficialFactory(role="official", perms=ALL_GROUP_POWERS)


@pytest.fixture
def groups() -> dict[str, Group]:
    """A managed group of each kind of owner, each with one member and one pending place."""
    made = {
        "city": GroupFactory(kind=Group.Kind.MANAGED, jurisdiction=None),
        "gangnam": GroupFactory(kind=Group.Kind.MANAGED, jurisdiction_id=GANGNAM),
        "jongno": GroupFactory(kind=Group.Kind.MANAGED, jurisdiction_id=JONGNO),
    }
    for group in made.values():
        GroupMembership.objects.create(group=group, user=CitizenFactory())
        PendingGroupMember.objects.create(group=group, phone=f"+8210555{group.pk:05d}")
    return made


def _state() -> tuple:
    return (
        tuple(Group.objects.order_by("pk").values_list()),
        tuple(GroupMembership.objects.order_by("pk").values_list("group_id", "user_id")),
        tuple(PendingGroupMember.objects.order_by("pk").values_list("group_id", "phone")),
        AuditEntry.objects.count(),
    )


def _csv(*phones: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("members.csv", "\n".join(phones).encode(), content_type="text/csv")


def _form(group: Group, **changes) -> dict:
    return {
        "name": group.name,
        "name_en": group.name_en,
        "description": "rewritten",
        "kind": group.kind,
        "is_active": "on",
        "jurisdiction": JONGNO,
        # The inline of pending places (shown to officials who may see phone numbers) edits none.
        "pending_members-TOTAL_FORMS": "0",
        "pending_members-INITIAL_FORMS": "0",
        **changes,
    }


def test_a_gu_official_cannot_replace_a_city_wide_groups_members(gu_official, groups):
    """The finding: a 종로구 official uploaded a CSV to a city-wide group and replaced its members.
    Now the upload page, the preview and the confirmation all answer 403, and nothing changes."""
    client = _client(gu_official)
    city = groups["city"]
    before = _state()
    newcomer = CitizenFactory()
    url = f"{GROUPS}{city.pk}/upload-members/"

    assert client.get(url).status_code == 403
    assert client.post(url, {"file": _csv(newcomer.phone)}).status_code == 403
    # A confirmation token forged into the cache as if a preview had been made.
    cache.set(
        UPLOAD_CACHE_PREFIX + "forged",
        {
            "group": city.pk,
            "user": gu_official.pk,
            "phones": [newcomer.phone],
            "invalid_count": 0,
            "invalid_lines": [],
        },
    )
    assert client.post(url, {"token": "forged"}).status_code == 403

    assert _state() == before


def test_a_gu_official_sees_city_wide_groups_read_only(gu_official, groups):
    """City-wide groups stay listed (a 종로구 poll may target "청년 19–34"), but every write on
    them is refused: the change form, the delete page, the bulk delete and deactivation."""
    client = _client(gu_official)
    city = groups["city"]
    before = _state()

    listed = client.get(GROUPS)
    assert {g.pk for g in listed.context["cl"].result_list} == {
        groups["city"].pk,
        groups["jongno"].pk,
    }
    change = client.get(f"{GROUPS}{city.pk}/change/")
    assert change.status_code == 200
    assert not change.context["has_change_permission"]
    assert "upload-members" not in change.content.decode()

    assert client.post(f"{GROUPS}{city.pk}/change/", _form(city)).status_code == 403
    assert client.post(f"{GROUPS}{city.pk}/change/", _form(city, is_active="")).status_code == 403
    assert client.get(f"{GROUPS}{city.pk}/delete/").status_code == 403
    assert client.post(f"{GROUPS}{city.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = client.post(
        GROUPS,
        {
            "action": "delete_selected",
            "_selected_action": [city.pk, groups["jongno"].pk],
            "post": "yes",
        },
    )
    assert bulk.status_code == 403

    assert _state() == before


@pytest.mark.parametrize("suffix", ["change/", "delete/", "history/", "upload-members/"])
def test_another_gus_group_does_not_exist_for_a_gu_official(gu_official, groups, suffix):
    """강남구's groups are not 종로구's business: not listed, and every URL of one answers as for
    a missing group (the admin's redirect with "doesn't exist"), for GET and POST alike."""
    client = _client(gu_official)
    gangnam = groups["gangnam"]
    before = _state()
    url = f"{GROUPS}{gangnam.pk}/{suffix}"

    for response in (
        client.get(url),
        client.post(url, {"file": _csv(CitizenFactory().phone), "post": "yes", **_form(gangnam)}),
    ):
        assert response.status_code == 302, url
        assert response["Location"] == "/admin/"

    assert _state() == before


def test_another_gus_group_cannot_be_reached_through_list_search_or_autocomplete(
    gu_official, groups
):
    """Nor by searching for it by name, nor in the group picker of a poll's audience."""
    client = _client(gu_official)
    gangnam = groups["gangnam"]

    search = client.get(GROUPS, {"q": gangnam.name})
    assert list(search.context["cl"].result_list) == []
    picker = client.get(
        "/admin/autocomplete/",
        {"app_label": "voting", "model_name": "poll", "field_name": "groups", "term": ""},
    )
    assert picker.status_code == 200
    offered = {int(item["id"]) for item in picker.json()["results"]}
    assert gangnam.pk not in offered
    assert groups["city"].pk in offered and groups["jongno"].pk in offered


def test_a_gu_officials_new_group_is_their_gus_whatever_they_post(gu_official):
    """Creating a group "for the city" or "for 강남구" by posting the field: it is 종로구's."""
    client = _client(gu_official)

    for posted in ("", GANGNAM):
        response = client.post(
            f"{GROUPS}add/",
            {
                "name": f"새 그룹 {posted or 'city'}",
                "kind": Group.Kind.MANAGED,
                "is_active": "on",
                "jurisdiction": posted,
                "pending_members-TOTAL_FORMS": "0",
                "pending_members-INITIAL_FORMS": "0",
            },
        )
        assert response.status_code == 302, response.context and response.context["errors"]

    assert set(Group.objects.values_list("jurisdiction_id", flat=True)) == {JONGNO}


def test_a_gu_official_manages_their_own_gus_group_but_cannot_give_it_away_or_change_its_kind(
    gu_official, groups
):
    """Their own group: members replaced (and audited, counts only), edits saved; the
    jurisdiction and the kind (self-declared ↔ managed, which would let an upload overwrite
    citizens' own choices) stay as they were."""
    client = _client(gu_official)
    jongno = groups["jongno"]
    joiner = CitizenFactory()
    url = f"{GROUPS}{jongno.pk}/upload-members/"

    preview = client.post(url, {"file": _csv(joiner.phone)})
    assert preview.status_code == 200
    token = preview.context["confirm_form"].initial["token"]
    assert client.post(url, {"token": token}).status_code == 302
    assert set(GroupMembership.objects.filter(group=jongno).values_list("user", flat=True)) == {
        joiner.pk
    }
    entry = AuditEntry.objects.get(subject_type="group", subject_id=jongno.pk)
    assert (entry.action, entry.actor_id) == ("replace_members", gu_official.pk)
    assert entry.changes == {"members_and_pending": [2, 1]}
    assert joiner.phone not in str(entry.changes) and joiner.phone not in entry.title

    saved = client.post(
        f"{GROUPS}{jongno.pk}/change/",
        _form(jongno, jurisdiction=GANGNAM, kind=Group.Kind.SELF_DECLARED),
    )
    assert saved.status_code == 302
    jongno.refresh_from_db()
    assert (jongno.description, jongno.jurisdiction_id, jongno.kind) == (
        "rewritten",
        JONGNO,
        Group.Kind.MANAGED,
    )


def test_the_service_refuses_a_gu_official_even_if_a_view_forgot_to(gu_official, groups):
    """The last line: ``set_managed_group_members(by=...)`` checks the jurisdiction of the
    group as locked in the database, whatever the caller's copy of the group says."""
    city = groups["city"]
    stale_copy = Group.objects.get(pk=city.pk)
    stale_copy.jurisdiction_id = JONGNO  # what a caller might believe
    before = _state()

    with pytest.raises(managed_groups.GroupOutsideJurisdictionError):
        managed_groups.set_managed_group_members(group=stale_copy, phones=[], by=gu_official)
    with pytest.raises(managed_groups.GroupOutsideJurisdictionError):
        managed_groups.preview_managed_group_members(
            group=groups["gangnam"], phones=[], by=gu_official
        )

    assert _state() == before


def test_a_city_official_manages_every_gus_groups(city_official, groups):
    """The control: the city's officials may give a group to a gu and replace any members."""
    client = _client(city_official)
    gangnam = groups["gangnam"]

    listed = client.get(GROUPS)
    assert len(listed.context["cl"].result_list) == 3
    url = f"{GROUPS}{gangnam.pk}/upload-members/"
    preview = client.post(url, {"file": _csv("+821077770000")})
    assert (
        client.post(url, {"token": preview.context["confirm_form"].initial["token"]}).status_code
        == 302
    )
    assert not GroupMembership.objects.filter(group=gangnam).exists()

    city = groups["city"]
    assert client.post(f"{GROUPS}{city.pk}/change/", _form(city)).status_code == 302
    city.refresh_from_db()
    assert city.jurisdiction_id == JONGNO
