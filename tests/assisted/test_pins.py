"""Callers without a mobile phone: a PIN an official issued after checking their ID in person."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from assisted.models import Identification, VisitPin
from assisted.pins import issue_pin
from audit.models import AuditEntry
from tests.district_codes import JONGNO, SAJIK, SINSA
from tests.factories import CitizenFactory, OfficialFactory
from voting.models import Channel, Participation

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_mobile(db):
    """A citizen whose account has no mobile number (made at the community centre)."""
    return CitizenFactory(phone=None, phone_verified=False, display_name="박순자")


def test_issuing_a_pin_keeps_only_its_hash_and_is_audited(no_mobile):
    official = OfficialFactory(role="official")

    visit_pin, pin = issue_pin(
        official=official, citizen=no_mobile, name=" 박  순자 ", place="종로1·2·3·4가동 주민센터"
    )

    assert len(pin) == 6 and pin.isdigit()
    assert pin not in visit_pin.pin_hash
    assert visit_pin.name == "박 순자"
    assert visit_pin.expires_at - visit_pin.issued_at == timedelta(days=90)
    entry = AuditEntry.objects.get(action="issue_visit_pin")
    assert entry.actor == official
    assert (entry.subject_type, entry.subject_id) == ("citizen", no_mobile.pk)
    assert pin not in str(entry.changes)


def test_a_new_pin_revokes_the_old_one(no_mobile, operator_client, poll):
    official = OfficialFactory(role="official")
    _first, old = issue_pin(
        official=official, citizen=no_mobile, name="박순자", place="동 주민센터"
    )
    _second, new = issue_pin(
        official=official, citizen=no_mobile, name="박순자", place="동 주민센터"
    )

    assert VisitPin.objects.usable().count() == 1
    if old != new:
        refused = operator_client.post(
            f"/assist/polls/{poll.pk}/pin/", {"name": "박순자", "pin": old}
        )
        assert refused.status_code == 400


def test_the_operator_identifies_the_caller_by_name_and_pin_and_casts(
    no_mobile, operator_client, poll
):
    _visit_pin, pin = issue_pin(
        official=OfficialFactory(role="official"),
        citizen=no_mobile,
        name="박순자",
        place="주민센터",
    )

    response = operator_client.post(
        f"/assist/polls/{poll.pk}/pin/", {"name": "박순자", "pin": pin[:3] + " " + pin[3:]}
    )

    identification = Identification.objects.get()
    assert response["Location"] == f"/assist/calls/{identification.pk}/ballot/"
    assert identification.citizen == no_mobile
    assert identification.method == Identification.Method.PIN
    no = poll.options.get(label="반대")
    operator_client.post(response["Location"], {"option": [no.pk]})
    participation = Participation.objects.get(poll=poll)
    assert (participation.voter, participation.channel) == (no_mobile, Channel.ASSISTED)


def test_five_wrong_pins_void_the_pin(no_mobile, operator_client, poll):
    _visit_pin, pin = issue_pin(
        official=OfficialFactory(role="official"),
        citizen=no_mobile,
        name="박순자",
        place="주민센터",
    )
    wrong = "000000" if pin != "000000" else "111111"
    for _ in range(5):
        refused = operator_client.post(
            f"/assist/polls/{poll.pk}/pin/", {"name": "박순자", "pin": wrong}
        )
        assert refused.status_code == 400

    late = operator_client.post(f"/assist/polls/{poll.pk}/pin/", {"name": "박순자", "pin": pin})

    assert late.status_code == 400
    assert not Identification.objects.exists()


def test_an_expired_pin_is_refused(no_mobile, operator_client, poll):
    visit_pin, pin = issue_pin(
        official=OfficialFactory(role="official"),
        citizen=no_mobile,
        name="박순자",
        place="주민센터",
    )
    VisitPin.objects.filter(pk=visit_pin.pk).update(expires_at=timezone.now())

    response = operator_client.post(f"/assist/polls/{poll.pk}/pin/", {"name": "박순자", "pin": pin})

    assert response.status_code == 400


def test_an_official_issues_a_pin_in_the_admin_and_sees_it_once(no_mobile):
    official = OfficialFactory(role="official")
    client = Client()
    client.force_login(official)

    response = client.post(
        "/admin/assisted/visitpin/add/",
        {"citizen": no_mobile.pk, "name": "박순자", "place": "사직동 주민센터"},
        follow=True,
    )

    assert response.status_code == 200
    visit_pin = VisitPin.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    assert any("citizen #" in m for m in shown), shown
    assert visit_pin.issued_by == official
    assert AuditEntry.objects.filter(action="issue_visit_pin").count() == 1


def test_operators_cannot_issue_pins(no_mobile, operator_client):
    response = operator_client.post(
        "/admin/assisted/visitpin/add/",
        {"citizen": no_mobile.pk, "name": "박순자", "place": "사직동 주민센터"},
    )

    assert response.status_code == 403
    assert not VisitPin.objects.exists()


def test_a_citizen_with_a_mobile_number_gets_no_pin(caller):
    official = OfficialFactory(role="official")

    with pytest.raises(ValidationError) as refused:
        issue_pin(official=official, citizen=caller, name="김영희", place="주민센터")

    assert refused.value.code == "has_mobile_phone"
    assert not VisitPin.objects.exists()


def test_a_gu_official_issues_pins_only_in_their_gu():
    official = OfficialFactory(role="official", gu=JONGNO)
    outside = CitizenFactory(phone=None, phone_verified=False, district_id=SINSA)
    inside = CitizenFactory(phone=None, phone_verified=False, district_id=SAJIK)
    client = Client()
    client.force_login(official)

    refused = client.post(
        "/admin/assisted/visitpin/add/",
        {"citizen": outside.pk, "name": "강남 시민", "place": "신사동 주민센터"},
    )
    assert refused.status_code == 200  # the form again, with the reason
    assert not VisitPin.objects.exists()
    issue_pin(official=official, citizen=inside, name="사직 시민", place="사직동 주민센터")
    issue_pin(
        official=OfficialFactory(role="official"), citizen=outside, name="강남", place="신사동"
    )

    listed = client.get("/admin/assisted/visitpin/").content.decode()
    assert f"citizen #{inside.pk}" in listed and f"citizen #{outside.pk}" not in listed
