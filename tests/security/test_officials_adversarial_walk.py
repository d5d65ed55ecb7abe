"""Every admin page, form and action, walked by a dishonest gu official and a city official.

The walk is built from the admin site itself: for each registered model, every URL its admin
serves for one object (change, delete, history, and custom pages such as a poll's results and
CSV, a group's member upload, a proposal's decision pages) is opened and then posted with every
field an attacker would smuggle in, for objects outside the attacker's powers; every action the
admin defines is posted with those objects selected by id. A page must refuse (403, 404, or the
admin's "does not exist" redirect) or be read-only, never show what it refuses, and no POST may
change any table (compared row by row).

The table below names, per attacker, what lies outside their powers in each admin. An admin
registered without an entry, or a custom page nobody looked at, fails
``test_every_admin_and_page_is_in_the_walk``: a new admin view is not secured by default.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.models import Group as AuthGroup
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import CitizenChangeRequest
from accounts.sms_records import SMSDelivery
from audit import services as audit
from audit.models import AuditEntry
from districts.models import District, Group
from notifications.models import OutboxEvent
from tests.discussion.factories import CommentFactory
from tests.district_codes import GANGNAM, JONGNO, SAJIK, SINSA
from tests.factories import (
    CategoryFactory,
    CitizenFactory,
    GroupFactory,
    OfficialFactory,
    PollFactory,
)
from tests.proposals.factories import ProposalFactory
from tests.security.test_officials_adversarial import (
    REASON,
    _fast_password_hashing,  # noqa: F401 (an autouse fixture, used here too)
    admin_client,
    assert_unchanged,
    database_state,
)
from voting import invitations
from voting.models import OnsiteSession, Outcome, Poll, PollInvitation
from voting.services.snapshots import record_poll

pytestmark = pytest.mark.django_db

ATTACKERS = ("gu", "city")


def ahead(days: int):
    return timezone.now() + timedelta(days=days)


def ago(days: int):
    return timezone.now() - timedelta(days=days)


@dataclass(frozen=True)
class Target:
    """An object outside an attacker's powers, and what they may still do with it."""

    name: str
    make: Callable[[dict], object]  # given the cast (attackers and colleagues), builds it
    marker: str  # text of the object a refused page must not show
    visible: bool = False  # listed read-only (view permission); else it must look missing
    # Its admin's actions may legitimately take it (a change *request* on a citizen of the
    # attacker's gu): walked by tests/security/test_officials_adversarial.py instead.
    actions_may_take: bool = False


def _gangnam_poll(_cast, **fields) -> Poll:
    return PollFactory(districts=[GANGNAM], title="강남 비밀 초안", published=False, **fields)


def _closed_gangnam_poll(_cast) -> Poll:
    return PollFactory(
        districts=[SINSA],
        title="강남 마감 투표",
        results_visibility="officials",
        opens_at=ago(5),
        closes_at=ago(1),
    )


def _outcome(cast) -> Outcome:
    return Outcome.objects.create(
        poll=_closed_gangnam_poll(cast), summary="강남 결정 요약", decided_on=timezone.localdate()
    )


def _gangnam_invitation(cast) -> PollInvitation:
    poll = _gangnam_poll(cast, private=True)
    invitations.create_invitations(
        poll=poll, n=1, label="강남 초대 라벨", created_by=cast["colleague"]
    )
    return PollInvitation.objects.get(poll=poll)


def _gangnam_onsite_session(cast) -> OnsiteSession:
    poll = _gangnam_poll(cast)
    return OnsiteSession.objects.create(
        poll=poll, place="강남 현장 장소", starts_at=timezone.now(), ends_at=ahead(1)
    )


def _other_gu_pin(_cast):
    from assisted.pins import issue_pin

    citizen = CitizenFactory(phone=None, phone_verified=False, district_id=SINSA)
    visit_pin, _pin = issue_pin(
        official=OfficialFactory(role="official"),
        citizen=citizen,
        name="강남",
        place="신사 핀 장소",
    )
    return visit_pin


ASSISTED_ALERTS = "read-only for every official: no add, change or delete (tests/assisted)"


def _poll_entry(cast) -> AuditEntry:
    poll = _gangnam_poll(cast)
    return record_poll(actor=cast["colleague"], poll=poll, action=AuditEntry.Action.CREATE)


def _citizen_entry(cast) -> AuditEntry:
    citizen = CitizenFactory(district_id=SAJIK)
    return audit.record(
        actor=cast["colleague"],
        subject_type=AuditEntry.Subject.CITIZEN,
        subject_id=citizen.pk,
        title="시민 감사 기록",
        action="request_verification",
    )


def _request(cast, district: str) -> CitizenChangeRequest:
    citizen = CitizenFactory(district_id=district, display_name=f"변경대상 {district}")
    return CitizenChangeRequest.objects.create(
        citizen=citizen, kind="verify_resident", reason=REASON, requested_by=cast["colleague"]
    )


def _authenticator(cast) -> Authenticator:
    return Authenticator.objects.create(
        user=cast["colleague"], type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )


def _email(cast) -> EmailAddress:
    return EmailAddress.objects.create(
        user=cast["colleague"], email="colleague-secret@seoul.go.kr", verified=False
    )


SMS_DELIVERY = Target(
    "a text's delivery record (operators' costs; no official's role grants it)",
    lambda c: SMSDelivery.objects.create(
        provider="solapi", recipient="a" * 64, provider_message_id="walk-sms-1"
    ),
    "walk-sms-1",
)
OFFICIAL_GROUP = Target(
    "the officials' role", lambda c: AuthGroup.objects.get(name="official"), "Can add citizen"
)
SUPERUSER = Target(
    "a superuser", lambda c: OfficialFactory(is_superuser=True, username="root-x"), "root-x"
)
COLLEAGUE = Target("a colleague's account", lambda c: c["colleague"], "colleague-x")
EMAIL = Target("a colleague's email address", _email, "colleague-secret@")
AUTHENTICATOR = Target("a colleague's TOTP", _authenticator, "JBSWY3DPEHPK3PXP")
DISTRICT = Target("another gu's dong", lambda c: District.objects.get(code=SINSA), "", visible=True)
CATEGORY = Target("a category", lambda c: CategoryFactory(), "", visible=True)
OUTBOX = Target(
    "an outbox event",
    lambda c: OutboxEvent.objects.create(kind="poll_opened", subject_id=1, dedupe_key="walk-1"),
    "walk-1",
    visible=True,
)
SAJIK_CITIZEN = Target(
    "a citizen of the gu",
    lambda c: CitizenFactory(district_id=SAJIK, display_name="사직 시민"),
    "",
    visible=True,
    actions_may_take=True,
)
SAJIK_REQUEST = Target(
    "a colleague's request about a citizen of the gu",
    lambda c: _request(c, SAJIK),
    "",
    visible=True,
    actions_may_take=True,
)
SEOUL_GROUP = Target(
    "a city-wide managed group",
    lambda c: GroupFactory(kind=Group.Kind.MANAGED, name="서울 전체 그룹"),
    "",
    visible=True,
)

POPULATION = (
    "published figures, the same for every official; nobody adds or changes them in the admin "
    "(tests/districts/test_population.py, and the add form below)"
)

# What lies outside each attacker's powers, per admin; a string says why there is nothing.
OUTSIDE: dict[str, dict[str, list[Target] | str]] = {
    "gu": {
        "auth.group": [OFFICIAL_GROUP],
        "account.emailaddress": [EMAIL],
        "mfa.authenticator": [AUTHENTICATOR],
        "districts.district": [DISTRICT],
        "districts.group": [
            Target(
                "another gu's group",
                lambda c: GroupFactory(
                    kind=Group.Kind.MANAGED, jurisdiction_id=GANGNAM, name="강남 그룹"
                ),
                "강남 그룹",
            ),
            SEOUL_GROUP,
        ],
        "accounts.user": [
            Target(
                "another gu's citizen",
                lambda c: CitizenFactory(district_id=SINSA, display_name="신사 시민"),
                "신사 시민",
            ),
            COLLEAGUE,
            SUPERUSER,
            SAJIK_CITIZEN,
        ],
        "accounts.citizenchangerequest": [
            Target(
                "a request about another gu's citizen",
                lambda c: _request(c, SINSA),
                f"변경대상 {SINSA}",
            ),
            SAJIK_REQUEST,
        ],
        "voting.poll": [
            Target("another gu's draft", _gangnam_poll, "강남 비밀 초안"),
            Target(
                "a poll for all of Seoul",
                lambda c: PollFactory(title="서울 전체 투표", results_visibility="officials"),
                "서울 전체 투표",
            ),
            Target(
                "a poll reaching into another gu",
                lambda c: PollFactory(districts=[SAJIK, GANGNAM], title="걸친 투표"),
                "걸친 투표",
            ),
            Target("another gu's closed poll", _closed_gangnam_poll, "강남 마감 투표"),
        ],
        "audit.auditentry": [
            Target("another gu's poll's entry", _poll_entry, "강남 비밀 초안"),
            Target("an entry about a citizen", _citizen_entry, "시민 감사 기록"),
        ],
        "voting.outcome": [Target("another gu's outcome", _outcome, "강남 결정 요약")],
        "voting.pollinvitation": [
            Target("a code of another gu's private poll", _gangnam_invitation, "강남 초대 라벨")
        ],
        "voting.onsitesession": [
            Target("another gu's on-site session", _gangnam_onsite_session, "강남 현장 장소")
        ],
        "assisted.visitpin": [Target("another gu's citizen's PIN", _other_gu_pin, "신사 핀 장소")],
        "assisted.operatoralert": ASSISTED_ALERTS,
        "voting.category": [CATEGORY],
        "proposals.proposal": [
            Target(
                "another gu's proposal",
                lambda c: ProposalFactory(
                    district_id=GANGNAM, under_review=True, title="강남 제안"
                ),
                "강남 제안",
            ),
        ],
        "discussion.comment": [
            Target(
                "a comment on another gu's poll",
                lambda c: CommentFactory(poll=_gangnam_poll(c), body="강남 투표 의견"),
                "강남 투표 의견",
            ),
            Target(
                "a comment on another gu's proposal",
                lambda c: CommentFactory(
                    poll=None, proposal=ProposalFactory(district_id=GANGNAM), body="강남 제안 의견"
                ),
                "강남 제안 의견",
            ),
        ],
        "notifications.outboxevent": [OUTBOX],
        "accounts.smsdelivery": [SMS_DELIVERY],
        "districts.populationtable": POPULATION,
    },
    "city": {
        "auth.group": [OFFICIAL_GROUP],
        "account.emailaddress": [EMAIL],
        "mfa.authenticator": [AUTHENTICATOR],
        "districts.district": [DISTRICT],
        "districts.group": "a city official manages every group (tests/districts)",
        "accounts.user": [COLLEAGUE, SUPERUSER, SAJIK_CITIZEN],
        "accounts.citizenchangerequest": [SAJIK_REQUEST],
        "voting.poll": "every poll is a city official's; what stays refused to them (deleting a "
        "published poll, frozen fields) is tests/voting/test_admin.py",
        "audit.auditentry": [
            Target("a poll's entry", _poll_entry, "", visible=True),
            Target("an entry about a citizen", _citizen_entry, "", visible=True),
        ],
        "voting.outcome": "a city official records and corrects every outcome; none is ever "
        "deleted (tests/voting/test_admin.py)",
        "voting.pollinvitation": "a city official makes and revokes every private poll's codes; "
        "nobody edits or deletes one (tests/voting/test_private_polls.py)",
        "voting.onsitesession": "a city official opens sessions for every poll "
        "(tests/onsite/test_admin.py)",
        "assisted.visitpin": "a city official issues and revokes every citizen's PIN; a PIN is "
        "never changed or deleted (tests/assisted/test_pins.py)",
        "assisted.operatoralert": ASSISTED_ALERTS,
        "voting.category": [CATEGORY],
        "proposals.proposal": "a city official moderates every proposal (tests/proposals)",
        "discussion.comment": "a city official moderates every comment (tests/discussion)",
        "notifications.outboxevent": [OUTBOX],
        "accounts.smsdelivery": [SMS_DELIVERY],
        "districts.populationtable": POPULATION,
    },
}

# Pages of an admin that name no object, and where they are attacked.
NON_OBJECT_PAGES = {
    "": "the changelist: actions below, lookups in test_officials_adversarial.py",
    "add/": "test_adding_is_refused_or_kept_within_the_powers below",
    "district-autocomplete/": "tests/voting/test_admin.py::"
    "test_district_autocomplete_offers_only_targetable_districts",
    "audience-estimate/": "tests/voting/test_poll_form.py::"
    "test_a_gu_official_cannot_count_another_gu_or_all_of_seoul",
    "markdown-preview/": "tests/voting/test_poll_form.py::"
    "test_the_endpoints_refuse_citizens_and_officials_who_may_not_write_polls",
}


def cast_for(attacker: str) -> dict:
    """The attacker, and a colleague whose account, email and second factor they go after."""
    colleague = OfficialFactory(role="official", gu=JONGNO, username="colleague-x")
    official = OfficialFactory(
        role="official", gu=JONGNO if attacker == "gu" else None, username=f"attacker-{attacker}"
    )
    return {"attacker": official, "colleague": colleague}


def object_pages(model_admin) -> list[str]:
    return [
        str(url.pattern)
        for url in model_admin.urls
        if "object_id" in str(url.pattern) or str(url.pattern).startswith("<id>")
    ]


def smuggled(cast: dict, *, action: bool = False) -> dict:
    """Every field a form in the admin might take, set as an attacker would want it."""
    return {
        "post": "yes",  # the delete confirmation
        **({} if action else {"_save": "Save"}),
        "reason": REASON,
        "apply": "1",
        "token": "x" * 32,
        "file": SimpleUploadedFile("members.csv", b"010-9999-0001\n", "text/csv"),
        "title": "탈취",
        "description": "탈취",
        "summary": "탈취",
        "body": "탈취",
        "name": "탈취",
        "name_en": "taken",
        "name_ko": "탈취",
        "slug": "taken",
        "position": "0",
        "kind": "managed",
        "is_active": "on",
        "published": "on",
        "results_visibility": "live",
        "districts": [SAJIK, GANGNAM],
        "jurisdiction": "",
        "district": SAJIK,
        "level": "gu",
        "status": "approved",
        "verification": "20",
        "birth_year": "1940",
        "gender": "other",
        "phone": "+821099990001",
        "is_staff": "on",
        "is_superuser": "on",
        "user": cast["attacker"].pk,
        "requested_by": cast["colleague"].pk,
        "decided_by": cast["attacker"].pk,
        "email": "x@example.com",
        "verified": "on",
        "primary": "on",
        "type": "totp",
        "data": "{}",
        "password1": "p" * 20,
        "password2": "p" * 20,
        "permissions": [str(pk) for pk in range(1, 200)],
        "options": "찬성\n반대",
        "opens_at": "2030-01-01T00:00",
        "closes_at": "2030-02-01T00:00",
        "hidden_at": "",
        "summary_en": "",
        "decided_on": "2030-01-01",
    }


def targets(attacker: str) -> list[tuple[str, str]]:
    return [
        (attacker, label)
        for label, entry in OUTSIDE[attacker].items()
        if not isinstance(entry, str)
    ]


def registered() -> dict[str, object]:
    return {
        model._meta.label_lower: model_admin for model, model_admin in admin.site._registry.items()
    }


def test_every_admin_and_page_is_in_the_walk():
    """A newly registered admin, or a new page of one that names no object, is not walked until
    someone says here what lies outside each attacker's powers in it."""
    for attacker in ATTACKERS:
        assert set(OUTSIDE[attacker]) == set(registered()), attacker
    for label, model_admin in registered().items():
        object_urls = set(object_pages(model_admin))
        others = {str(url.pattern) for url in model_admin.urls} - object_urls
        assert others <= set(NON_OBJECT_PAGES), (label, others - set(NON_OBJECT_PAGES))


@pytest.mark.parametrize(("attacker", "label"), targets("gu") + targets("city"))
def test_every_page_of_an_object_outside_the_powers_refuses(attacker, label):
    """GET shows nothing the attacker may not read; POST with smuggled fields writes nothing."""
    cast = cast_for(attacker)
    model_admin = registered()[label]
    app_label, model_name = label.split(".")
    client = admin_client(cast["attacker"])
    for target in OUTSIDE[attacker][label]:
        obj = target.make(cast)
        # One snapshot per object, compared after all its pages were posted (a failure names
        # the object; posting its pages one by one then says which).
        before = database_state()
        for page in object_pages(model_admin):
            path = page.replace("<path:object_id>", str(obj.pk)).replace("<id>", str(obj.pk))
            url = f"/admin/{app_label}/{model_name}/{path}"
            response = client.get(url, follow=True)
            where = f"{attacker} {target.name} GET {url}"
            assert response.status_code in (200, 403, 404), where
            if not target.visible:
                # Refused, or the admin's "does not exist" answer: a redirect to its index.
                assert response.status_code in (403, 404) or (
                    response.redirect_chain and response.redirect_chain[-1][0] == "/admin/"
                ), where
                if target.marker:
                    assert target.marker not in response.content.decode(), where
            response = client.post(url, smuggled(cast))
            # A read-only page (a visible object's history) may answer the POST as a GET; a page
            # that takes no POST at all (a poll's phone preview) answers 405.
            allowed = (200, 302, 403, 404, 405) if target.visible else (302, 403, 404, 405)
            assert response.status_code in allowed, f"{attacker} {target.name} POST {url}"
        assert_unchanged(before, f"{attacker} posting every page of {target.name}")


@pytest.mark.parametrize(("attacker", "label"), targets("gu") + targets("city"))
def test_no_action_reaches_an_object_outside_the_powers(attacker, label):
    """Each action the admin defines (and the bulk delete), posted with the objects selected by
    id, past any intermediate page (reason given, deletion confirmed): nothing written."""
    cast = cast_for(attacker)
    model_admin = registered()[label]
    app_label, model_name = label.split(".")
    client = admin_client(cast["attacker"])
    chosen = [t.make(cast).pk for t in OUTSIDE[attacker][label] if not t.actions_may_take]
    if not chosen:
        pytest.skip("its admin's actions act on these only through four eyes (the other file)")
    actions = [*(model_admin.actions or ()), "delete_selected"]
    for action in actions:
        name = action if isinstance(action, str) else action.__name__
        before = database_state()
        response = client.post(
            f"/admin/{app_label}/{model_name}/",
            # No "_save" (it would make the changelist a list-editing POST and skip the action).
            {**smuggled(cast, action=True), "action": name, "_selected_action": chosen},
        )
        assert response.status_code in (200, 302, 403), (attacker, label, name)
        assert_unchanged(before, f"{attacker} action {name} on {label}")


@pytest.mark.parametrize("attacker", ATTACKERS)
def test_list_editing_is_refused(attacker):
    """Changelists with editable columns (category positions) refuse a crafted formset POST."""
    cast = cast_for(attacker)
    client = admin_client(cast["attacker"])
    for label, model_admin in registered().items():
        if not model_admin.list_editable:
            continue
        obj = {"voting.category": CATEGORY}[label].make(cast)
        before = database_state()
        response = client.post(
            f"/admin/{label.replace('.', '/')}/",
            {
                "form-TOTAL_FORMS": "1",
                "form-INITIAL_FORMS": "1",
                "form-0-id": str(obj.pk),
                **{f"form-0-{field}": "99" for field in model_admin.list_editable},
                "_save": "Save",
            },
        )
        assert response.status_code == 403, label
        assert_unchanged(before, f"{attacker} list editing {label}")


# Adding: refused to both attackers, except where the add form is theirs (a poll or a group of
# their gu, an outcome of their poll, a change request), which is attacked with the fields that
# would take it outside their powers.
ADD_REFUSED = {
    "auth.group",
    "account.emailaddress",
    "mfa.authenticator",
    "districts.district",
    "accounts.user",
    "audit.auditentry",
    "voting.category",
    "proposals.proposal",
    "discussion.comment",
    "notifications.outboxevent",
    "accounts.smsdelivery",
    "districts.populationtable",
    "assisted.operatoralert",
}
ADD_ATTACKED_ELSEWHERE = {
    "accounts.citizenchangerequest": "test_officials_adversarial.py (crafted add-form posts)",
    "voting.poll": "tests/voting/test_admin.py::test_gu_official_cannot_target_another_gu_or_"
    "all_of_seoul",
    "districts.group": "below: a gu official's group is always their gu's",
    "voting.outcome": "below: only polls of the attacker's powers are offered",
    "voting.pollinvitation": "tests/security/test_private_polls_adversarial.py::"
    "test_a_gu_official_neither_makes_sees_nor_revokes_another_gus_codes",
    "voting.onsitesession": "tests/onsite/test_admin.py::test_a_poll_of_another_gu_cannot_be_"
    "chosen",
    "assisted.visitpin": "tests/assisted/test_pins.py::test_a_gu_official_issues_pins_only_in_"
    "their_gu",
}


@pytest.mark.parametrize("attacker", ATTACKERS)
def test_adding_is_refused_or_kept_within_the_powers(attacker):
    cast = cast_for(attacker)
    client = admin_client(cast["attacker"])
    assert ADD_REFUSED | set(ADD_ATTACKED_ELSEWHERE) == set(registered())
    for label in sorted(ADD_REFUSED):
        before = database_state()
        url = f"/admin/{label.replace('.', '/')}/add/"
        assert client.get(url).status_code == 403, label
        assert client.post(url, smuggled(cast)).status_code == 403, label
        assert_unchanged(before, f"{attacker} adding {label}")

    if attacker == "gu":
        # Another gu's closed poll is not offered for an outcome.
        poll = _closed_gangnam_poll(cast)
        before = database_state()
        response = client.post(
            "/admin/voting/outcome/add/",
            {"poll": poll.pk, "summary": "가짜 결정", "decided_on": "2030-01-01"},
        )
        assert response.status_code == 200 and response.context["adminform"].form.errors
        assert_unchanged(before, "an outcome for another gu's poll")
        # A group added by a gu official is their gu's, whatever jurisdiction was posted.
        response = client.post(
            "/admin/districts/group/add/",
            {
                "name": "몰래 그룹",
                "name_en": "sneaky",
                "kind": "managed",
                "is_active": "on",
                "jurisdiction": GANGNAM,
                "description": "",
            },
        )
        assert response.status_code == 302
        assert Group.objects.get(name="몰래 그룹").jurisdiction_id == JONGNO


@pytest.mark.parametrize(
    "url",
    ["/admin/voting/poll/{poll}/results/", "/admin/voting/poll/{poll}/results/csv/"],
)
def test_a_gu_official_reads_no_results_beyond_their_gu(url):
    """Results of a poll for all of Seoul, or one reaching into another gu, are city-wide work
    (a 종로구 voter's poll is not enough): 404 and no title, while the city official reads them."""
    for fields in ({}, {"districts": [SAJIK, GANGNAM]}):
        poll = PollFactory(title="넓은 투표", results_visibility="officials", **fields)
        jongno_official = OfficialFactory(role="official", gu=JONGNO)
        response = admin_client(jongno_official).get(url.format(poll=poll.pk))
        assert response.status_code == 404
        assert "넓은 투표" not in response.content.decode()
        city_wide = admin_client(OfficialFactory(role="official"))
        assert city_wide.get(url.format(poll=poll.pk)).status_code == 200
