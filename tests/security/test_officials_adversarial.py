"""A dishonest official against citizens' accounts, in the admin: refused, or four eyes and audited.

The attackers are a gu official (종로구), a second official of the same gu, an official of another
gu (강남구) and a city-wide official, each in the ready "official" group, several with the
permission to see phone numbers. They post every field a real attacker would smuggle into the
user form, run the bulk actions on citizens outside their powers, approve their own requests and
tamper with pending ones. Each attempt is refused and leaves the database as it was (every table,
compared row by row), or it goes through the change-request path (accounts/officials.py): a
pending request, applied only when a second official with powers over that citizen approves, and
audited with masked values.

Every other admin page and action is walked in test_officials_adversarial_walk.py, next door.
"""

import json

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.test import Client
from rest_framework.test import APIClient

from accounts import officials, sms
from accounts.models import CitizenChangeRequest, Gender, User, Verification
from audit.models import AuditEntry
from districts.models import District
from tests.accounts.test_auth_flows import CODE_REQUEST, code_in, log_in_by_code, post, texts_to
from tests.district_codes import GANGNAM, HYEHWA, JONGNO, SAJIK, SINSA
from tests.factories import CitizenFactory, OfficialFactory

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"
REQUESTS = "/admin/accounts/citizenchangerequest/"
REASON = "동 주민센터에서 주민등록등본을 확인했습니다."
SEES_PHONES = ["accounts.view_phone_number"]
ATTACKER_PHONE = "+821099990001"

# Per-request bookkeeping of who is logged in, not what an official could change: sessions, and
# the last login that logging an attacker in (before an attempt) writes.
NOT_COMPARED_APPS = {"sessions", "usersessions"}
NOT_COMPARED_FIELDS = {"last_login"}


# --- The world, and how the attackers reach it --------------------------------------------------


def database_state() -> dict[str, list[tuple]]:
    """Every row of every table (many-to-many tables included), but sessions and last logins."""
    state = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.app_label in NOT_COMPARED_APPS or meta.proxy or not meta.managed:
            continue
        columns = [f.attname for f in meta.concrete_fields if f.name not in NOT_COMPARED_FIELDS]
        rows = model._default_manager.order_by("pk").values_list(*columns)
        state[meta.label] = list(rows)
    return state


def assert_unchanged(before: dict[str, list[tuple]], what: str = "") -> None:
    after = database_state()
    changed = sorted(label for label in before if before[label] != after.get(label))
    assert not changed, f"{what}: changed {changed}"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Officials have passwords; hashing each with PBKDF2 would cost seconds per test. What is
    # attacked here is the admin's authorisation, not the password hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def admin_client(user: User) -> Client:
    """A logged-in admin session for ``user`` (English messages, to read them in assertions)."""
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def jongno():
    """The dishonest gu official (종로구), who may see phone numbers."""
    return OfficialFactory(role="official", gu=JONGNO, username="jongno-a", perms=SEES_PHONES)


@pytest.fixture
def jongno_b():
    """A second 종로구 official: the legitimate second pair of eyes."""
    return OfficialFactory(role="official", gu=JONGNO, username="jongno-b")


@pytest.fixture
def gangnam():
    return OfficialFactory(role="official", gu=GANGNAM, username="gangnam")


@pytest.fixture
def city():
    """The dishonest city-wide official, who may see phone numbers."""
    return OfficialFactory(role="official", username="city", perms=SEES_PHONES)


@pytest.fixture
def sajik_citizen():
    """Lives in 종로구 사직동: inside the 종로구 officials' powers."""
    return CitizenFactory(
        phone="+821012340001", district_id=SAJIK, birth_year=1985, gender=Gender.FEMALE
    )


@pytest.fixture
def sinsa_citizen():
    """Lives in 강남구 신사동: outside the 종로구 officials' powers."""
    return CitizenFactory(
        phone="+821012340002", district_id=SINSA, birth_year=1970, gender=Gender.MALE
    )


def identity(user: User) -> tuple:
    user = User.objects.get(pk=user.pk)
    return (
        user.phone,
        user.phone_verified,
        user.verification,
        user.district_id,
        user.district_changed_at,
        user.birth_year,
        user.gender,
        user.email,
        user.display_name,
        user.is_staff,
        user.is_superuser,
        user.jurisdiction_id,
    )


# Everything of a citizen's identity, eligibility and privileges, as a crafted form POST.
def smuggled_user_fields(target_district: str, group_pk: int) -> dict:
    return {
        "username": "taken-over",
        "phone": ATTACKER_PHONE,
        "phone_verified": "on",
        "verification": str(Verification.RESIDENT),
        "district": target_district,
        "district_changed_at": "2000-01-01 00:00:00",
        "birth_year": "1940",
        "gender": Gender.OTHER,
        "email": "attacker@example.com",
        "display_name": "attacker",
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "jurisdiction": GANGNAM,
        "groups": [str(group_pk)],
        "user_permissions": [str(Permission.objects.get(codename="change_user").pk)],
        "date_joined_0": "2000-01-01",
        "date_joined_1": "00:00:00",
        "_save": "Save",
    }


# --- 1. The phone number: nobody but its holder changes it ---------------------------------------


@pytest.mark.parametrize("attacker", ["jongno", "city", "superuser"])
def test_no_official_takes_over_a_citizen_by_changing_the_phone(attacker, request, sajik_citizen):
    """An official who may see phone numbers (a superuser too) posts the citizen's form with
    their own number, then asks for a login code for that number: the citizen's phone is
    unchanged, no account has the attacker's number, and the code request sends no code."""
    official = (
        OfficialFactory(is_superuser=True)
        if attacker == "superuser"
        else request.getfixturevalue(attacker)
    )
    client = admin_client(official)
    page = client.get(f"{USERS}{sajik_citizen.pk}/change/")
    assert page.status_code == 200
    assert "phone" not in page.context["adminform"].form.fields
    before = database_state()

    if attacker == "superuser":
        # A valid form (a superuser may save it): the phone is ignored, not a form error.
        fields = {
            "phone": ATTACKER_PHONE,
            "is_active": "on",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
            "_save": "Save",
        }
        assert client.post(f"{USERS}{sajik_citizen.pk}/change/", fields).status_code == 302
    else:
        fields = smuggled_user_fields(SAJIK, group_pk=official.groups.first().pk)
        assert client.post(f"{USERS}{sajik_citizen.pk}/change/", fields).status_code == 403

    assert User.objects.get(pk=sajik_citizen.pk).phone == "+821012340001"
    assert not User.objects.filter(phone=ATTACKER_PHONE).exists()
    if attacker != "superuser":
        assert_unchanged(before, "the citizen's form")
    # Logging in as the citizen with the attacker's SIM: allauth's "no account" text, no code.
    sms.outbox.clear()
    response = post(APIClient(), CODE_REQUEST, {"phone": ATTACKER_PHONE})
    assert response.status_code == 401
    assert all(code_in(text) is None for text in texts_to(ATTACKER_PHONE))
    assert not texts_to(sajik_citizen.phone)
    # The citizen's own number still logs the citizen in.
    log_in_by_code(APIClient(), sajik_citizen.phone)


def test_a_superuser_cannot_unlock_a_citizens_fields_by_making_them_staff(sajik_citizen):
    """The operator (a superuser) may save a citizen's form (the active flag), but the phone and
    the eligibility stay the citizen's and the two officials', whatever the order of saves."""
    client = admin_client(OfficialFactory(is_superuser=True))
    url = f"{USERS}{sajik_citizen.pk}/change/"
    form = {"is_active": "on", "date_joined_0": "2024-01-01", "date_joined_1": "00:00:00"}
    takeover = {"phone": ATTACKER_PHONE, "phone_verified": "on", "verification": "20"}
    blank = {"gender": Gender.FEMALE, "username": "", "email": "", "display_name": ""}

    client.post(url, {**form, "is_staff": "on", "_save": "Save"})
    client.post(url, {**form, **takeover, **blank, "is_staff": "on", "_save": "Save"})
    client.post(url, {**form, "_save": "Save"})

    citizen = User.objects.get(pk=sajik_citizen.pk)
    assert (citizen.phone, citizen.verification) == ("+821012340001", Verification.PHONE)


@pytest.mark.parametrize("city_wide", [False, True], ids=["gu official", "city official"])
def test_an_official_without_the_phone_permission_cannot_read_numbers_through_list_lookups(
    city_wide, sajik_citizen
):
    """The changelist shows masked numbers; filtering by prefix would read them digit by digit
    (and tell whether a number has an account): refused. Searching by number finds nobody."""
    client = admin_client(OfficialFactory(role="official", gu=None if city_wide else JONGNO))
    for query in ({"phone__startswith": "+8210123400"}, {"phone": "+821012340001"}):
        response = client.get(USERS, query)
        # A lookup the changelist does not offer is refused outright (the admin's 400).
        assert response.status_code == 400, query
    # Searching by number finds nobody (search by phone needs the permission).
    response = client.get(USERS, {"q": "+821012340001"})
    assert not response.context["cl"].result_list


def test_autocomplete_does_not_look_citizens_up_by_phone_or_outside_the_gu(
    jongno_b, sajik_citizen, sinsa_citizen
):
    """The change-request form's citizen autocomplete: a 종로구 official without the phone
    permission finds nobody by phone, and never another gu's citizen."""
    client = admin_client(jongno_b)
    url = "/admin/autocomplete/"
    base = {"app_label": "accounts", "model_name": "citizenchangerequest", "field_name": "citizen"}
    found = client.get(url, {**base, "term": "+821012340001"}).json()["results"]
    assert found == []
    everyone = client.get(url, {**base, "term": ""}).json()["results"]
    ids = {int(row["id"]) for row in everyone}
    assert sajik_citizen.pk in ids
    assert sinsa_citizen.pk not in ids
    assert jongno_b.pk not in ids  # limit_choices_to: never an official's account


# --- 2. Residence, birth year, gender, verification: never directly ------------------------------


@pytest.mark.parametrize("official_fixture", ["jongno", "city", "gangnam"])
def test_the_user_form_rewrites_nothing_inside_or_outside_the_jurisdiction(
    official_fixture, request, sajik_citizen, sinsa_citizen
):
    """Every identity, eligibility and privilege field posted on a citizen's form: refused (403
    inside the jurisdiction, "does not exist" outside it) and nothing written anywhere."""
    official = request.getfixturevalue(official_fixture)
    client = admin_client(official)
    group_pk = official.groups.first().pk
    for citizen in (sajik_citizen, sinsa_citizen):
        before = database_state()
        response = client.post(
            f"{USERS}{citizen.pk}/change/", smuggled_user_fields(HYEHWA, group_pk)
        )
        mine = official.jurisdiction_id in (None, citizen.district.parent_id)
        # 403 both ways: Django refuses a POST without the change permission before it looks
        # the object up (so another gu's citizen is not even confirmed to exist).
        assert response.status_code == 403, (citizen, mine)
        assert_unchanged(before, f"{official} posting {citizen}'s form")


def test_bulk_actions_only_ask_and_never_outside_the_jurisdiction(
    jongno, sajik_citizen, sinsa_citizen, city
):
    """The 종로구 official selects their citizen, another gu's citizen, a colleague and
    themselves by id: one pending request (their citizen's), nothing applied."""
    client = admin_client(jongno)
    selected = [sajik_citizen.pk, sinsa_citizen.pk, city.pk, jongno.pk]
    for action in ("request_resident_verification", "request_lower_verification"):
        # Without a reason: the intermediate page, and nothing made.
        page = client.post(USERS, {"action": action, "_selected_action": selected})
        assert page.status_code == 200
        # Their own account is listed (officials see themselves) and refused below.
        assert set(page.context["citizens"]) == {sajik_citizen, jongno}
    assert not CitizenChangeRequest.objects.exists()

    response = client.post(
        USERS,
        {"action": "request_resident_verification", "_selected_action": selected, "reason": REASON},
    )

    assert response.status_code == 302
    [change] = CitizenChangeRequest.objects.all()
    assert (change.citizen_id, change.status) == (sajik_citizen.pk, "pending")
    assert change.requested_by_id == jongno.pk
    for user in (sajik_citizen, sinsa_citizen, city, jongno):
        assert User.objects.get(pk=user.pk).verification == user.verification
    [entry] = AuditEntry.objects.filter(subject_type="citizen")
    assert (entry.subject_id, entry.action) == (sajik_citizen.pk, "request_verification")
    # Lowering a phone-verified citizen is "no change": refused, not a request.
    client.post(
        USERS,
        {"action": "request_lower_verification", "_selected_action": selected, "reason": REASON},
    )
    assert CitizenChangeRequest.objects.count() == 1


def approve(client: Client, change: CitizenChangeRequest):
    return client.post(REQUESTS, {"action": "approve", "_selected_action": [change.pk]})


def test_four_eyes_not_mine_not_another_gus_only_a_colleague_of_the_gu(
    jongno, jongno_b, gangnam, sajik_citizen
):
    """The requester approving their own request, and an official of another gu approving it,
    change nothing; a second official of the same gu applies it, audited."""
    admin_client(jongno).post(
        USERS,
        {
            "action": "request_resident_verification",
            "_selected_action": [sajik_citizen.pk],
            "reason": REASON,
        },
    )
    change = CitizenChangeRequest.objects.get()

    for official in (jongno, gangnam):
        before = database_state()
        response = approve(admin_client(official), change)
        assert_unchanged(before, f"{official} approving")
        if official == jongno:
            assert any("second official" in text for text in messages_of(response))

    response = approve(admin_client(jongno_b), change)

    change.refresh_from_db()
    assert (change.status, change.decided_by_id) == ("approved", jongno_b.pk)
    assert User.objects.get(pk=sajik_citizen.pk).verification == Verification.RESIDENT
    entry = AuditEntry.objects.get(subject_type="citizen", action="approve_verification")
    assert entry.actor_id == jongno_b.pk
    assert entry.changes["requested_by"] == jongno.pk
    assert entry.changes["verification"] == ["phone", "resident"]


def request_via_form(client: Client, citizen: User, **fields) -> object:
    data = {"citizen": citizen.pk, "reason": REASON, "district": "", "birth_year": "", "gender": ""}
    data.update({key: str(value) for key, value in fields.items()})
    return client.post(f"{REQUESTS}add/", data)


@pytest.mark.parametrize(
    ("kind", "value", "hidden"),
    [
        ("residence", {"district": HYEHWA}, [HYEHWA, "혜화동", SAJIK, "사직동"]),
        ("birth_year", {"birth_year": 1987}, ["1987", "1985"]),
        ("gender", {"gender": Gender.MALE}, ["male", "female"]),
    ],
)
def test_a_correction_two_officials_approve_is_audited_with_masked_values(
    kind, value, hidden, jongno, jongno_b, sajik_citizen
):
    """Asked in the add form, approved by a colleague: applied, and every audit entry says what
    changed without the phone number, the full birth year, the dong or the gender itself."""
    response = request_via_form(admin_client(jongno), sajik_citizen, kind=kind, **value)
    assert response.status_code == 302, response.context and response.context["adminform"].errors
    change = CitizenChangeRequest.objects.get()
    assert User.objects.get(pk=sajik_citizen.pk).district_id == SAJIK  # not yet

    approve(admin_client(jongno_b), change)

    citizen = User.objects.get(pk=sajik_citizen.pk)
    applied = {
        "residence": citizen.district_id,
        "birth_year": citizen.birth_year,
        "gender": citizen.gender,
    }
    assert applied[kind] == next(iter(value.values()))
    entries = AuditEntry.objects.filter(subject_type="citizen", subject_id=citizen.pk)
    assert {e.action for e in entries} == {"request_change", "approve_change"}
    # Every entry of the log, the admin's own history mirrored into it included.
    for entry in AuditEntry.objects.all():
        text = json.dumps(entry.changes, ensure_ascii=False) + entry.title
        for secret in [citizen.phone, citizen.phone[3:], "01012340001", *hidden]:
            assert secret not in text, (entry.action, secret, text)
    approval = entries.get(action="approve_change")
    if kind == "residence":
        # The gu (named in the approver's language), and a fingerprint of the dong.
        assert approval.changes["residence"][0].split(" #")[0] in ("종로구", "Jongno-gu")
    if kind == "birth_year":
        assert approval.changes["birth_year"][0].startswith("1980s")


# --- 3. Moving a citizen out of the gu, or reaching another gu's citizen -------------------------


def test_a_gu_official_cannot_move_their_citizen_to_another_gu(
    jongno, jongno_b, gangnam, city, sajik_citizen
):
    """At the request: a form error and no row. At the approval of a city official's request
    to move them to 강남구: refused for the 종로구 official (outside their gu) and for the 강남구
    official (the citizen is not theirs)."""
    before = database_state()
    response = request_via_form(
        admin_client(jongno), sajik_citizen, kind="residence", district=SINSA
    )
    assert response.status_code == 200
    assert "outside your powers" in str(response.context["adminform"].form.errors)
    assert_unchanged(before, "asking to move out of the gu")

    change = CitizenChangeRequest.objects.create(
        citizen=sajik_citizen, kind="residence", district_id=SINSA, reason=REASON, requested_by=city
    )
    for official in (jongno_b, gangnam):
        before = database_state()
        approve(admin_client(official), change)
        assert_unchanged(before, f"{official} approving a move to 강남구")


def test_crafted_add_form_posts_make_no_request_outside_the_powers(
    jongno, jongno_b, sinsa_citizen, sajik_citizen
):
    """Another gu's citizen, a colleague's account, a city-level district, and the fields the
    server decides (status, requested_by, decided_by) smuggled into a valid request."""
    client = admin_client(jongno)
    seoul = District.objects.get(level=District.Level.CITY)
    before = database_state()
    for citizen, fields in [
        (sinsa_citizen, {"kind": "verify_resident"}),
        (sinsa_citizen, {"kind": "residence", "district": HYEHWA}),
        (jongno_b, {"kind": "lower_verification"}),
        (sajik_citizen, {"kind": "residence", "district": seoul.pk}),
        (sajik_citizen, {"kind": "birth_year", "birth_year": 1850}),
        (sajik_citizen, {"kind": "set_phone"}),
    ]:
        response = request_via_form(client, citizen, **fields)
        assert response.status_code == 200, (citizen, fields)
        assert response.context["adminform"].form.errors
    assert_unchanged(before, "crafted requests")

    request_via_form(
        client,
        sajik_citizen,
        kind="verify_resident",
        status="approved",
        requested_by=jongno_b.pk,
        decided_by=jongno_b.pk,
        decided_at="2020-01-01 00:00:00",
    )
    change = CitizenChangeRequest.objects.get()
    assert (change.status, change.requested_by_id, change.decided_by_id) == (
        "pending",
        jongno.pk,
        None,
    )
    assert User.objects.get(pk=sajik_citizen.pk).verification == Verification.PHONE


# --- 4. Pending and decided requests --------------------------------------------------------------


def test_a_pending_request_cannot_be_edited_or_deleted(jongno, jongno_b, city, sajik_citizen):
    """The requester and their colleagues post the change form (to swap the value after a
    colleague looked), the delete page and the bulk delete: all refused, the row as it was."""
    change = CitizenChangeRequest.objects.create(
        citizen=sajik_citizen,
        kind="birth_year",
        birth_year=1990,
        reason=REASON,
        requested_by=jongno,
    )
    for official in (jongno, jongno_b, city):
        client = admin_client(official)
        before = database_state()
        edit = client.post(
            f"{REQUESTS}{change.pk}/change/",
            {
                "citizen": sajik_citizen.pk,
                "kind": "verify_resident",
                "birth_year": "1940",
                "reason": "바꿔치기",
                "status": "pending",
                "requested_by": jongno_b.pk,
            },
        )
        delete = client.post(f"{REQUESTS}{change.pk}/delete/", {"post": "yes"})
        bulk = client.post(
            REQUESTS, {"action": "delete_selected", "_selected_action": [change.pk], "post": "yes"}
        )
        assert (edit.status_code, delete.status_code) == (403, 403), official
        # Without the delete permission there is no such action: back to the list, undone.
        assert (bulk.status_code, bulk["Location"]) == (302, REQUESTS), official
        assert_unchanged(before, f"{official} tampering")


def test_a_decided_request_is_never_decided_again(jongno, jongno_b, city, sajik_citizen):
    """Approved once: a second approval or a late rejection, by anyone, changes nothing."""
    change = CitizenChangeRequest.objects.create(
        citizen=sajik_citizen,
        kind="birth_year",
        birth_year=1990,
        reason=REASON,
        requested_by=jongno,
    )
    approve(admin_client(jongno_b), change)
    assert User.objects.get(pk=sajik_citizen.pk).birth_year == 1990

    for official in (jongno_b, city, jongno):
        for action in ("approve", "reject"):
            before = database_state()
            response = admin_client(official).post(
                REQUESTS, {"action": action, "_selected_action": [change.pk]}
            )
            assert_unchanged(before, f"{official} {action} again")
            assert any("already decided" in text for text in messages_of(response))


def test_a_request_is_not_approved_once_the_citizen_has_left_the_gu(
    jongno, jongno_b, sajik_citizen
):
    """The citizen moves to 강남구 while the request waits: the 종로구 colleague's approval is
    refused (the powers are checked against today's residence)."""
    change = CitizenChangeRequest.objects.create(
        citizen=sajik_citizen, kind="gender", gender=Gender.MALE, reason=REASON, requested_by=jongno
    )
    User.objects.filter(pk=sajik_citizen.pk).update(district_id=SINSA)
    before = database_state()
    approve(admin_client(jongno_b), change)
    assert_unchanged(before, "approving after the move")
    with pytest.raises(PermissionDenied, match="outside your powers"):
        officials.approve_change(official=jongno_b, change=change)


# --- 5. Officials' own accounts and privileges -------------------------------------------------
# tests/accounts/test_admin_privileges.py covers a city official's own form and other officials'
# change pages; these add the gu official, the other URLs and the fields of power.


@pytest.mark.parametrize("official_fixture", ["jongno", "city"])
def test_officials_raise_no_privileges_anywhere(official_fixture, request, jongno_b, city):
    """On their own account, a colleague's and a superuser's: the form of power fields (a gu
    official making themselves city-wide with an empty jurisdiction included), the password,
    delete and history pages, and the auth groups' admin (adding permissions to "official")."""
    official = request.getfixturevalue(official_fixture)
    superuser = OfficialFactory(is_superuser=True, username="root")
    client = admin_client(official)
    power = {
        "is_staff": "on",
        "is_superuser": "on",
        "jurisdiction": "",
        "groups": [str(official.groups.first().pk)],
        "user_permissions": [str(p.pk) for p in Permission.objects.all()[:50]],
        "_save": "Save",
    }
    others = [u for u in (jongno_b, city, superuser) if u.pk != official.pk]
    before = database_state()

    assert client.post(f"{USERS}{official.pk}/change/", power).status_code == 403
    assert client.post(f"{USERS}{official.pk}/password/", {}).status_code == 403
    assert client.post(f"{USERS}{official.pk}/delete/", {"post": "yes"}).status_code == 403
    for other in others:
        # Another official's account "doesn't exist" (back to the index); the delete and
        # password pages check the permission (which the role lacks) before the object.
        refusals = {"change/": 302, "history/": 302, "delete/": 403, "password/": 403}
        for path, refusal in refusals.items():
            response = client.get(f"{USERS}{other.pk}/{path}")
            assert response.status_code == refusal, (other, path)
            assert other.username not in response.content.decode()
        client.post(f"{USERS}{other.pk}/change/", power)
        client.post(f"{USERS}{other.pk}/password/", {"password1": "x" * 20, "password2": "x" * 20})
    group = official.groups.first()
    assert client.get(f"/admin/auth/group/{group.pk}/change/").status_code == 403
    client.post(
        f"/admin/auth/group/{group.pk}/change/",
        {"name": "official", "permissions": power["user_permissions"]},
    )
    client.post(
        "/admin/auth/group/add/", {"name": "root", "permissions": power["user_permissions"]}
    )
    listing = client.get(USERS)
    assert {u.pk for u in listing.context["cl"].result_list}.isdisjoint(u.pk for u in others)
    assert_unchanged(before, "raising privileges")
