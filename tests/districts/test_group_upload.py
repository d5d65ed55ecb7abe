"""Managed groups: members set by officials from a CSV of phone numbers.

The texts are asserted in English (the source language): the Korean catalogue may translate them.
"""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from districts.managed_groups import (
    NotManagedGroupError,
    preview_managed_group_members,
    set_managed_group_members,
)
from districts.models import Group, GroupMembership, PendingGroupMember
from districts.phone_csv import ROW_EMPTY, ROW_NOT_MOBILE, PhoneCSVError, parse_phone_csv
from districts.services import claim_pending_memberships
from tests.factories import CitizenFactory, GroupFactory, OfficialFactory


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def english_client(user) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


# --- Parser ------------------------------------------------------------------------------------


def test_parser_accepts_domestic_and_e164_forms():
    parsed = parse_phone_csv(b"010-1234-5678\n+821087654321\n01011112222\n010 3333 4444\n")
    assert parsed.phones == ["+821012345678", "+821087654321", "+821011112222", "+821033334444"]
    assert parsed.invalid == []
    assert parsed.rows == 4
    assert not parsed.header_skipped


def test_parser_reads_utf8_with_bom_and_skips_a_korean_header():
    data = "\ufeff전화번호,이름\n010-1234-5678,홍길동\n".encode()
    assert data.startswith(b"\xef\xbb\xbf")
    parsed = parse_phone_csv(data)
    assert parsed.phones == ["+821012345678"]
    assert parsed.header_skipped
    assert parsed.rows == 1


def test_parser_reads_cp949_as_korean_excel_saves_it():
    data = "전화번호,이름\r\n010-1234-5678,김철수\r\n010-9999-8888,이영희\r\n".encode("cp949")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    parsed = parse_phone_csv(data)
    assert parsed.phones == ["+821012345678", "+821099998888"]
    assert parsed.header_skipped


def test_parser_skips_an_english_header_only_on_the_first_row():
    parsed = parse_phone_csv(b"phone\n010-1234-5678\nphone\n")
    assert parsed.header_skipped
    assert parsed.phones == ["+821012345678"]
    assert [(row.line, row.reason) for row in parsed.invalid] == [(3, ROW_NOT_MOBILE)]


def test_parser_does_not_take_an_invalid_number_for_a_header():
    parsed = parse_phone_csv(b"12345\n010-1234-5678\n")
    assert not parsed.header_skipped
    assert [row.line for row in parsed.invalid] == [1]


def test_parser_ignores_blank_lines_but_counts_them_in_line_numbers():
    parsed = parse_phone_csv(b"phone\n\n010-1234-5678\n   \n,,\n02-123-4567\n,memo\n")
    assert parsed.phones == ["+821012345678"]
    assert parsed.rows == 3
    assert [(row.line, row.reason) for row in parsed.invalid] == [
        (6, ROW_NOT_MOBILE),  # a landline cannot receive the sign-up text
        (7, ROW_EMPTY),
    ]


def test_parser_counts_duplicates_once_across_forms():
    parsed = parse_phone_csv(b"010-1234-5678\n+821012345678\n01012345678\n010-2222-3333\n")
    assert parsed.phones == ["+821012345678", "+821022223333"]
    assert parsed.duplicates == 2


def test_parser_reports_invalid_rows_with_line_numbers():
    data = "\n".join(
        ["phone", "010-1234-5678", "hello", "010-1234", "+1 202", "", "0101234567890123", "x"]
    ).encode()
    parsed = parse_phone_csv(data)
    assert parsed.phones == ["+821012345678"]
    assert [row.line for row in parsed.invalid] == [3, 4, 5, 7, 8]
    assert {str(row.reason) for row in parsed.invalid} == {"not a mobile number"}


def test_parser_limits_the_size():
    with pytest.raises(PhoneCSVError, match="larger than 1 MB"):
        parse_phone_csv(b"0" * (1024 * 1024 + 1), max_bytes=1024 * 1024)


def test_parser_limits_the_rows():
    data = "\n".join(f"0101000{n:04d}" for n in range(11)).encode()
    assert len(parse_phone_csv(data, max_rows=11).phones) == 11
    with pytest.raises(PhoneCSVError, match="more than 10 rows"):
        parse_phone_csv(data, max_rows=10)


def test_parser_refuses_text_in_neither_encoding():
    with pytest.raises(PhoneCSVError, match="neither UTF-8 nor CP949"):
        parse_phone_csv(b"\xff\xfe\x00\x00\xff")


def test_parser_reports_a_line_that_is_not_csv():
    with pytest.raises(PhoneCSVError, match="Line 2"):
        parse_phone_csv(b"010-1234-5678\n" + b"1" * 200_000 + b"\n")


# --- Service -----------------------------------------------------------------------------------


def managed_group(**kwargs) -> Group:
    return GroupFactory(kind=Group.Kind.MANAGED, **kwargs)


def member_phones(group: Group) -> set[str]:
    return set(GroupMembership.objects.filter(group=group).values_list("user__phone", flat=True))


def pending_phones(group: Group) -> set[str]:
    return set(PendingGroupMember.objects.filter(group=group).values_list("phone", flat=True))


@pytest.mark.django_db
def test_service_sets_members_and_keeps_unknown_numbers_pending():
    group = managed_group()
    alice, bob = CitizenFactory.create_batch(2)
    unverified = CitizenFactory(phone_verified=False)
    newcomer = "+821055556666"

    report = set_managed_group_members(
        group=group, phones=[alice.phone, bob.phone, unverified.phone, newcomer, alice.phone]
    )

    assert member_phones(group) == {alice.phone, bob.phone}
    # A number whose holder has not proved it yet keeps its place pending, as for no account.
    assert pending_phones(group) == {unverified.phone, newcomer}
    assert (report.members, report.pending, report.removed) == (2, 2, 0)
    assert (report.members_added, report.pending_added) == (2, 2)


@pytest.mark.django_db
def test_service_replaces_the_membership():
    group = managed_group()
    stays, leaves, joins = CitizenFactory.create_batch(3)
    GroupMembership.objects.create(group=group, user=stays)
    GroupMembership.objects.create(group=group, user=leaves)
    PendingGroupMember.objects.create(group=group, phone="+821099990001")  # dropped
    PendingGroupMember.objects.create(group=group, phone="+821099990002")  # kept
    other = managed_group()
    GroupMembership.objects.create(group=other, user=leaves)
    PendingGroupMember.objects.create(group=other, phone="+821099990001")

    report = set_managed_group_members(
        group=group, phones=[stays.phone, joins.phone, "+821099990002", "+821099990003"]
    )

    assert member_phones(group) == {stays.phone, joins.phone}
    assert pending_phones(group) == {"+821099990002", "+821099990003"}
    assert report.members_removed == 1 and report.pending_removed == 1 and report.removed == 2
    assert report.members_added == 1 and report.pending_added == 1
    # Other groups are untouched.
    assert member_phones(other) == {leaves.phone}
    assert pending_phones(other) == {"+821099990001"}


@pytest.mark.django_db
def test_service_turns_a_pending_place_into_a_membership_once_the_account_exists():
    group = managed_group()
    PendingGroupMember.objects.create(group=group, phone="+821077778888")
    citizen = CitizenFactory(phone="+821077778888")  # signed up, not yet claimed

    report = set_managed_group_members(group=group, phones=["+821077778888"])

    assert member_phones(group) == {citizen.phone}
    assert pending_phones(group) == set()
    assert (report.members_added, report.pending_removed) == (1, 1)


@pytest.mark.django_db
def test_service_reupload_is_idempotent():
    group = managed_group()
    citizens = CitizenFactory.create_batch(3)
    phones = [c.phone for c in citizens] + ["+821012340000"]
    set_managed_group_members(group=group, phones=phones)
    joined_before = dict(GroupMembership.objects.filter(group=group).values_list("id", "user_id"))

    report = set_managed_group_members(group=group, phones=reversed(phones))

    assert (report.members, report.pending) == (3, 1)
    assert report.members_added == report.pending_added == report.removed == 0
    # The same rows, not deleted and re-created.
    assert (
        dict(GroupMembership.objects.filter(group=group).values_list("id", "user_id"))
        == joined_before
    )


@pytest.mark.django_db
def test_later_sign_up_claims_the_pending_place():
    group = managed_group()
    set_managed_group_members(group=group, phones=["+821024681357"])
    assert pending_phones(group) == {"+821024681357"}

    citizen = CitizenFactory(phone="+821024681357")
    assert claim_pending_memberships(user=citizen) == 1

    assert member_phones(group) == {"+821024681357"}
    assert pending_phones(group) == set()


@pytest.mark.django_db
def test_an_empty_list_clears_the_group():
    group = managed_group()
    GroupMembership.objects.create(group=group, user=CitizenFactory())
    PendingGroupMember.objects.create(group=group, phone="+821099990001")

    report = set_managed_group_members(group=group, phones=[])

    assert report.removed == 2
    assert not GroupMembership.objects.filter(group=group).exists()
    assert not PendingGroupMember.objects.filter(group=group).exists()


@pytest.mark.django_db
def test_preview_counts_without_changing_anything():
    group = managed_group()
    leaves, joins = CitizenFactory.create_batch(2)
    GroupMembership.objects.create(group=group, user=leaves)

    report = preview_managed_group_members(group=group, phones=[joins.phone, "+821099990009"])

    assert (report.members, report.pending, report.removed) == (1, 1, 1)
    assert member_phones(group) == {leaves.phone}
    assert pending_phones(group) == set()


@pytest.mark.django_db
def test_service_refuses_self_declared_groups():
    group = GroupFactory(kind=Group.Kind.SELF_DECLARED)
    citizen = CitizenFactory()
    with pytest.raises(NotManagedGroupError):
        set_managed_group_members(group=group, phones=[citizen.phone])
    with pytest.raises(NotManagedGroupError):
        preview_managed_group_members(group=group, phones=[citizen.phone])
    assert not GroupMembership.objects.filter(group=group).exists()


@pytest.mark.django_db
def test_service_rejects_numbers_that_were_not_normalised():
    with pytest.raises(ValueError, match=r"E\.164"):
        set_managed_group_members(group=managed_group(), phones=["010-1234-5678"])


def _queries_for(size: int) -> int:
    """Set a group of ``size`` numbers over an existing one, touching every kind of write."""
    group = managed_group()
    citizens = CitizenFactory.create_batch(size)
    old = CitizenFactory.create_batch(size)
    GroupMembership.objects.bulk_create(GroupMembership(group=group, user=c) for c in old)
    PendingGroupMember.objects.bulk_create(
        PendingGroupMember(group=group, phone=f"+82109{group.pk:03d}{n:04d}") for n in range(size)
    )
    phones = [c.phone for c in citizens] + [f"+82108{group.pk:03d}{n:04d}" for n in range(size)]
    with CaptureQueriesContext(connection) as queries:
        report = set_managed_group_members(group=group, phones=phones)
    assert (report.members, report.pending, report.removed) == (size, size, 2 * size)
    return len(queries)


@pytest.mark.django_db
def test_service_query_count_does_not_grow_with_the_rows():
    small = _queries_for(10)
    large = _queries_for(200)
    assert small == large
    assert large <= 12


# --- Admin -------------------------------------------------------------------------------------


def upload_url(group: Group) -> str:
    return f"/admin/districts/group/{group.pk}/upload-members/"


def change_url(group: Group) -> str:
    return f"/admin/districts/group/{group.pk}/change/"


def csv_file(text: str, encoding: str = "utf-8-sig") -> SimpleUploadedFile:
    return SimpleUploadedFile("members.csv", text.encode(encoding), content_type="text/csv")


@pytest.fixture
def official_client(db) -> Client:
    official = OfficialFactory()
    official.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="districts", codename__in=["change_group", "view_group"]
        )
    )
    return english_client(official)


@pytest.fixture
def phone_official_client(db) -> Client:
    """A city official who may also see phone numbers, so may see who has an account."""
    official = OfficialFactory()
    official.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="districts", codename__in=["change_group", "view_group"]
        ),
        Permission.objects.get(content_type__app_label="accounts", codename="view_phone_number"),
    )
    return english_client(official)


@pytest.mark.django_db
def test_change_page_links_to_the_upload_and_shows_counts_only(phone_official_client):
    official_client = phone_official_client
    group = managed_group()
    member = CitizenFactory()
    GroupMembership.objects.create(group=group, user=member)
    PendingGroupMember.objects.create(group=group, phone="+821099998888")

    response = official_client.get(change_url(group))

    assert response.status_code == 200
    html = response.content.decode()
    assert upload_url(group) in html
    assert "Upload members (CSV)" in html
    readonly = {
        field.field["name"]: field.contents()
        for fieldset in response.context["adminform"]
        for line in fieldset
        for field in line
        if field.is_readonly
    }
    assert (readonly["member_count"], readonly["pending_count"]) == ("1", "1")
    assert "99998888" not in html
    assert member.phone[3:] not in html


@pytest.mark.django_db
def test_upload_preview_confirm_end_to_end(phone_official_client):
    """As an official who may see phone numbers: the preview and the message split members from
    pending places; the shared history (read by officials without that right) does not."""
    official_client = phone_official_client
    group = managed_group()
    leaves, stays, joins = CitizenFactory.create_batch(3)
    GroupMembership.objects.create(group=group, user=leaves)
    GroupMembership.objects.create(group=group, user=stays)
    domestic = "0" + joins.phone[3:5] + "-" + joins.phone[5:9] + "-" + joins.phone[9:]
    rows = [
        "전화번호",  # line 1: header
        stays.phone,  # 2
        domestic,  # 3
        "",  # 4
        "not a phone",  # 5
        "010-5555-4444",  # 6: no account
        "02-123-4567",  # 7: landline
        domestic,  # 8: duplicate
    ]

    page = official_client.get(upload_url(group))
    assert page.status_code == 200
    assert b'type="file"' in page.content

    preview = official_client.post(upload_url(group), {"file": csv_file("\r\n".join(rows))})

    assert preview.status_code == 200
    html = preview.content.decode()
    assert "line 5: not a mobile number" in html
    assert "line 7: not a mobile number" in html
    report = preview.context["report"]
    assert (report.members, report.pending, report.removed) == (2, 1, 1)
    for phone in (stays.phone, joins.phone, "+821055554444"):
        assert phone not in html and phone[3:] not in html
    assert "5555-4444" not in html and domestic not in html
    # Nothing changes before the confirmation.
    assert member_phones(group) == {leaves.phone, stays.phone}

    token = preview.context["confirm_form"].initial["token"]
    done = official_client.post(upload_url(group), {"token": token}, follow=True)

    assert done.redirect_chain[-1][0] == change_url(group)
    assert member_phones(group) == {stays.phone, joins.phone}
    assert pending_phones(group) == {"+821055554444"}
    message = next(iter(done.context["messages"])).message
    assert "2 members, 1 pending" in message and "1 removed" in message
    assert "2 invalid lines were skipped (lines 5, 7)" in message
    log = LogEntry.objects.get(object_id=str(group.pk))
    assert "3 phone numbers, members and pending together (2 before)" in log.get_change_message()
    assert "2 members" not in log.change_message and "+8210" not in log.change_message

    # A token is used once.
    again = official_client.post(upload_url(group), {"token": token}, follow=True)
    assert "expired or was already applied" in again.content.decode()


@pytest.mark.django_db
def test_upload_of_a_cp949_file(phone_official_client):
    official_client = phone_official_client
    group = managed_group()
    citizen = CitizenFactory()
    text = "전화번호,이름\r\n" + citizen.phone + ",김철수\r\n"
    preview = official_client.post(upload_url(group), {"file": csv_file(text, "cp949")})
    assert preview.context["report"].members == 1
    official_client.post(
        upload_url(group), {"token": preview.context["confirm_form"]["token"].value()}
    )
    assert member_phones(group) == {citizen.phone}


@pytest.mark.django_db
def test_upload_form_errors_are_shown(official_client, settings):
    group = managed_group()
    empty = official_client.post(upload_url(group), {"file": csv_file("phone\r\n\r\n")})
    assert empty.status_code == 200
    assert "no phone numbers" in empty.content.decode()

    garbage = official_client.post(
        upload_url(group),
        {"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00\xff", content_type="text/csv")},
    )
    assert "neither UTF-8 nor CP949" in garbage.content.decode()

    big = SimpleUploadedFile("big.csv", b"010-1234-5678\n" * 200_000, content_type="text/csv")
    too_big = official_client.post(upload_url(group), {"file": big})
    assert "larger than 2 MB" in too_big.content.decode()


@pytest.mark.django_db
def test_only_invalid_rows_offers_no_confirmation(official_client):
    group = managed_group()
    GroupMembership.objects.create(group=group, user=CitizenFactory())
    preview = official_client.post(upload_url(group), {"file": csv_file("phone\r\nnope\r\n")})
    html = preview.content.decode()
    assert "line 2: not a mobile number" in html
    assert "no valid phone number" in html
    assert 'name="token"' not in html


@pytest.mark.django_db
def test_confirmation_belongs_to_the_official_and_group_it_was_made_for(official_client):
    group, other = managed_group(), managed_group()
    citizen = CitizenFactory()
    preview = official_client.post(upload_url(group), {"file": csv_file(citizen.phone)})
    token = preview.context["confirm_form"].initial["token"]

    response = official_client.post(upload_url(other), {"token": token}, follow=True)

    assert "expired or was already applied" in response.content.decode()
    assert not GroupMembership.objects.exists()


@pytest.mark.django_db
def test_self_declared_groups_are_refused(official_client):
    group = GroupFactory(kind=Group.Kind.SELF_DECLARED)
    citizen = CitizenFactory()

    change = official_client.get(change_url(group))
    assert upload_url(group) not in change.content.decode()

    response = official_client.post(
        upload_url(group), {"file": csv_file(citizen.phone)}, follow=True
    )
    assert response.redirect_chain[-1][0] == change_url(group)
    assert "Citizens join self-declared groups themselves" in response.content.decode()
    assert not GroupMembership.objects.filter(group=group).exists()


@pytest.mark.django_db
def test_staff_without_the_permission_is_refused():
    group = managed_group()
    official = OfficialFactory()
    official.user_permissions.add(
        Permission.objects.get(content_type__app_label="districts", codename="view_group")
    )
    client = english_client(official)
    citizen = CitizenFactory()

    assert client.get(upload_url(group)).status_code == 403
    assert client.post(upload_url(group), {"file": csv_file(citizen.phone)}).status_code == 403
    change = client.get(change_url(group))
    assert change.status_code == 200
    assert upload_url(group) not in change.content.decode()
    assert not GroupMembership.objects.exists()


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_the_login(client):
    group = managed_group()
    response = client.get(upload_url(group))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_group_change_form_still_saves_with_many_pending_places():
    official_client = english_client(OfficialFactory(is_superuser=True))
    group = managed_group(description="old")
    set_managed_group_members(group=group, phones=[f"+82107000{n:04d}" for n in range(50)])
    page = official_client.get(change_url(group))
    (inline,) = page.context["inline_admin_formsets"]
    assert inline.formset.initial_form_count() == 20  # the latest only; the count is shown
    assert page.context["adminform"].form.instance.pk == group.pk

    data = {
        "name": group.name,
        "name_en": group.name_en,
        "description": "new",
        "kind": group.kind,
        "is_active": "on",
        "pending_members-TOTAL_FORMS": "20",
        "pending_members-INITIAL_FORMS": "20",
        "pending_members-MIN_NUM_FORMS": "0",
        "pending_members-MAX_NUM_FORMS": "1000",
    }
    for index, pending in enumerate(inline.formset.get_queryset()):
        data[f"pending_members-{index}-id"] = str(pending.pk)
        data[f"pending_members-{index}-group"] = str(group.pk)
    response = official_client.post(change_url(group), data)
    assert response.status_code == 302, response.context["errors"]
    group.refresh_from_db()
    assert group.description == "new"
    assert PendingGroupMember.objects.filter(group=group).count() == 50


# --- Account existence: what an official without the phone-number permission learns ----------


def _without_secrets(html: str, group: Group, token: str | None = None) -> str:
    """The page with what legitimately differs between two uploads removed: the group's name and
    id, the one-time tokens."""
    import re

    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    html = re.sub(r"csrftoken=[^;\s\"]*", "", html)
    html = re.sub(r'\?[^"]*"', '?"', html)  # links' query strings repeat the search for the group
    from urllib.parse import quote_plus

    for text in filter(None, (token, group.name, group.name_en, quote_plus(group.name))):
        html = html.replace(text, "#")
    return re.sub(rf"([/=]){group.pk}([/&\"])", r"\1#\2", html)


def _upload_alone(client: Client, group: Group, phone: str) -> dict[str, str]:
    """Upload ``phone`` alone to an empty managed group and collect every page the official sees
    on the way: the upload page, the preview, the confirmation message, the change page, the
    list, the history and the audit log entry."""
    seen = {"upload page": _without_secrets(client.get(upload_url(group)).content.decode(), group)}
    preview = client.post(upload_url(group), {"file": csv_file(phone)})
    token = preview.context["confirm_form"].initial["token"]
    seen["preview"] = _without_secrets(preview.content.decode(), group, token)
    done = client.post(upload_url(group), {"token": token}, follow=True)
    seen["confirmation"] = _without_secrets(done.content.decode(), group)
    seen["change page"] = _without_secrets(client.get(change_url(group)).content.decode(), group)
    changelist = client.get("/admin/districts/group/", {"q": group.name})
    seen["list"] = _without_secrets(changelist.content.decode(), group)
    history = client.get(f"/admin/districts/group/{group.pk}/history/")
    seen["history"] = _without_secrets(history.content.decode(), group)
    from audit.models import AuditEntry

    entry = AuditEntry.objects.filter(subject_type="group", subject_id=group.pk).get()
    seen["audit"] = f"{entry.action} {entry.changes}"
    return seen


@pytest.mark.django_db
def test_a_one_number_upload_does_not_tell_an_official_without_phone_permission_who_has_an_account(
    official_client,
):
    """Promise: only officials who may see phone numbers learn which numbers have an account.
    Attacker: an official with the right to manage groups but not to see phone numbers, who
    wants to know whether a number (a neighbour's, a journalist's) is registered: they upload
    a one-row CSV to a managed group. Every page they see on the way, and afterwards, is the
    same whether the number has a verified account, an unverified one, or none."""
    registered = CitizenFactory()
    unverified = CitizenFactory(phone_verified=False)

    phones = (registered.phone, unverified.phone, "+821055550000")
    groups = [managed_group() for _phone in phones]

    outcomes = [
        _upload_alone(official_client, group, phone)
        for group, phone in zip(groups, phones, strict=True)
    ]

    for name in outcomes[0]:
        assert outcomes[0][name] == outcomes[1][name] == outcomes[2][name], name
    assert "1 phone numbers, members and pending together (0 before)" in outcomes[0]["confirmation"]
    assert "pending" not in outcomes[0]["preview"].replace("including pending", "")


@pytest.mark.django_db
def test_an_account_deleted_keeps_its_place_so_the_count_does_not_betray_it(official_client):
    """Attacker: the same official, watching a group's single count after uploading one
    number: if the count fell when the holder deleted their account, it would say the number
    had one. The membership becomes a pending place again, and comes back on sign-up."""
    from accounts.services import delete_account

    group = managed_group()
    citizen = CitizenFactory()
    set_managed_group_members(group=group, phones=[citizen.phone, "+821055550001"])

    delete_account(user=citizen)

    response = official_client.get(change_url(group))
    readonly = {
        field.field["name"]: field.contents()
        for fieldset in response.context["adminform"]
        for line in fieldset
        for field in line
        if field.is_readonly
    }
    assert readonly["place_count"] == "2"
    assert "member_count" not in readonly and "pending_count" not in readonly
    assert response.context["inline_admin_formsets"] == []  # its rows would count the pending
    assert pending_phones(group) == {citizen.phone, "+821055550001"}

    again = CitizenFactory(phone=citizen.phone)
    claim_pending_memberships(user=again)
    assert member_phones(group) == {citizen.phone}
