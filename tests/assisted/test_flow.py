"""The operator's pages, end to end: find the poll, identify the caller by a texted code, cast
for them, read the receipt back; and every refusal on the way."""

import pytest
from django.test import Client

from accounts import sms
from assisted.models import Identification
from audit.models import AuditEntry
from tests.assisted.conftest import identify_by_sms, texted_code
from tests.factories import CitizenFactory, OfficialFactory, PollFactory
from voting.models import Channel, Envelope, Participation

pytestmark = pytest.mark.django_db


def test_an_operator_finds_the_poll_identifies_the_caller_casts_and_reads_the_receipt(
    operator_client, operator, poll, caller
):
    other = PollFactory(title="따릉이 요금 조정")
    listing = operator_client.get("/assist/", {"q": "한강"})
    assert listing.status_code == 200
    assert poll.title in listing.content.decode()
    assert other.title not in listing.content.decode()

    assert operator_client.get(f"/assist/polls/{poll.pk}/").status_code == 200
    response = operator_client.post(f"/assist/polls/{poll.pk}/sms/", {"phone": "010-5555-1234"})
    assert response.status_code == 302
    assert operator_client.get(response["Location"]).status_code == 200
    [message] = sms.outbox
    assert message.to == "+821055551234"
    identification = Identification.objects.get()
    assert identification.citizen == caller and identification.operator == operator
    assert texted_code() not in identification.code_hash  # only a salted, keyed hash is kept

    code_page = operator_client.post(response["Location"], {"code": texted_code()})
    assert code_page["Location"] == f"/assist/calls/{identification.pk}/ballot/"
    ballot = operator_client.get(code_page["Location"])
    page = ballot.content.decode()
    assert ballot.status_code == 200
    assert "찬성" in page and "반대" in page
    assert 'data-state="voted"' not in page
    assert "+82 10-****-1234" in page  # to confirm with the caller; never the whole number

    yes = poll.options.get(label="찬성")
    cast = operator_client.post(code_page["Location"], {"option": [yes.pk]})
    assert cast["Location"] == f"/assist/calls/{identification.pk}/receipt/"
    receipt = operator_client.get(cast["Location"])
    code = receipt.context["receipt"]
    assert code in receipt.content.decode()

    # Done: the identification cannot cast again.
    assert operator_client.get(code_page["Location"]).status_code == 403
    participation = Participation.objects.get(poll=poll, voter=caller)
    assert participation.channel == Channel.ASSISTED
    assert Envelope.objects.filter(poll=poll).count() == 1


def test_the_ballot_page_shows_that_the_caller_has_voted_and_never_what(
    operator_client, poll, caller
):
    from voting.casting import cast_ballot

    no = poll.options.get(label="반대")
    cast_ballot(poll=poll, voter=caller, option_ids=[no.pk])  # in the app, earlier
    identification_id = identify_by_sms(operator_client, poll_id=poll.pk)

    page = operator_client.get(f"/assist/calls/{identification_id}/ballot/").content.decode()

    assert 'data-state="voted"' in page
    assert '<form method="post" class="ballot">' not in page
    assert "반대" not in page  # not even the options: nothing to read a past choice from


def test_a_second_ballot_for_one_citizen_is_refused_with_409_shown(operator_client, poll, caller):
    yes = poll.options.get(label="찬성")
    first = identify_by_sms(operator_client, poll_id=poll.pk)
    second = identify_by_sms(operator_client, poll_id=poll.pk)
    operator_client.get(f"/assist/calls/{second}/ballot/")  # the page opens before the first
    assert (
        operator_client.post(f"/assist/calls/{first}/ballot/", {"option": [yes.pk]}).status_code
        == 302
    )

    response = operator_client.post(f"/assist/calls/{second}/ballot/", {"option": [yes.pk]})

    assert response.status_code == 409
    assert 'data-code="already_voted"' in response.content.decode()
    assert Participation.objects.filter(poll=poll, voter=caller).count() == 1


def test_a_wrong_code_is_refused_and_counted(operator_client, poll, caller):
    response = operator_client.post(f"/assist/polls/{poll.pk}/sms/", {"phone": caller.phone})
    wrong = "000000" if texted_code() != "000000" else "111111"

    refused = operator_client.post(response["Location"], {"code": wrong})

    assert refused.status_code == 400
    assert 'data-code="wrong_code"' in refused.content.decode()
    assert Identification.objects.get().attempts == 1
    assert Identification.objects.get().verified_at is None


def test_an_expired_code_is_refused(operator_client, poll, caller, clock):
    response = operator_client.post(f"/assist/polls/{poll.pk}/sms/", {"phone": caller.phone})
    clock.advance(5 * 60 + 1)

    refused = operator_client.post(response["Location"], {"code": texted_code()})

    assert refused.status_code == 410
    assert Identification.objects.get().verified_at is None


def test_a_code_works_once(operator_client, poll, caller):
    response = operator_client.post(f"/assist/polls/{poll.pk}/sms/", {"phone": caller.phone})
    code = texted_code()
    assert operator_client.post(response["Location"], {"code": code}).status_code == 302

    again = operator_client.post(response["Location"], {"code": code})

    assert again.status_code == 410


def test_five_wrong_codes_void_the_identification_even_the_right_one_after(
    operator_client, poll, caller
):
    response = operator_client.post(f"/assist/polls/{poll.pk}/sms/", {"phone": caller.phone})
    right = texted_code()
    wrong = "000000" if right != "000000" else "111111"
    statuses = [
        operator_client.post(response["Location"], {"code": wrong}).status_code for _ in range(5)
    ]

    assert statuses == [400, 400, 400, 400, 429]
    last = operator_client.post(response["Location"], {"code": right})
    assert last.status_code == 429
    assert Identification.objects.get().verified_at is None


def test_an_unknown_number_gets_no_text(operator_client, poll):
    response = operator_client.post(f"/assist/polls/{poll.pk}/sms/", {"phone": "010-9999-0000"})

    assert response.status_code == 404
    assert sms.outbox == []


def test_another_operators_identification_is_refused(operator_client, poll, caller):
    identification_id = identify_by_sms(operator_client, poll_id=poll.pk)
    colleague = Client()
    colleague.force_login(OfficialFactory(role="operator"))
    yes = poll.options.get(label="찬성")

    assert colleague.get(f"/assist/calls/{identification_id}/ballot/").status_code == 403
    assert colleague.get(f"/assist/calls/{identification_id}/code/").status_code == 403
    cast = colleague.post(f"/assist/calls/{identification_id}/ballot/", {"option": [yes.pk]})
    assert cast.status_code == 403
    assert not Participation.objects.filter(poll=poll).exists()


@pytest.mark.parametrize("who", ["official", "bare staff", "citizen"])
def test_only_operators_may_use_the_pages(who, poll):
    user = {
        "official": lambda: OfficialFactory(role="official"),
        "bare staff": lambda: OfficialFactory(),
        "citizen": lambda: CitizenFactory(),
    }[who]()
    client = Client()
    client.force_login(user)

    response = client.get("/assist/")

    if who == "citizen":  # not staff: the officials' login, like the admin
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    else:
        assert response.status_code == 403
    assert client.post(f"/assist/polls/{poll.pk}/sms/", {"phone": "01055551234"}).status_code in (
        302,
        403,
    )
    assert sms.outbox == []


def test_without_a_login_the_pages_lead_to_the_officials_login(poll):
    response = Client().get("/assist/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/assist/"


def test_a_superuser_may_use_the_pages(poll):
    client = Client()
    client.force_login(OfficialFactory(is_superuser=True))

    assert client.get("/assist/").status_code == 200


def test_the_audit_entry_names_operator_poll_and_channel_never_the_choice_or_number(
    operator_client, operator, poll, caller
):
    yes = poll.options.get(label="찬성")
    identification_id = identify_by_sms(operator_client, poll_id=poll.pk)
    operator_client.post(f"/assist/calls/{identification_id}/ballot/", {"option": [yes.pk]})

    entry = AuditEntry.objects.get(action="assisted_ballot")

    assert entry.actor == operator
    assert (entry.subject_type, entry.subject_id) == ("poll", poll.pk)
    assert entry.changes["channel"] == "assisted"
    assert set(entry.changes) == {"channel", "identification", "method"}
    written = f"{entry.title} {entry.changes}"
    assert "찬성" not in written and "option" not in written
    assert "5555" not in written and caller.phone not in written
    assert f"#{caller.pk}" not in written  # officials read the log: not who took part


def test_private_and_onsite_only_polls_are_not_offered(operator_client):
    private = PollFactory(title="주민자치회 안건", private=True)
    onsite = PollFactory(title="현장 투표 안건", onsite_only=True)

    page = operator_client.get("/assist/").content.decode()

    assert private.title not in page and onsite.title not in page
    assert operator_client.get(f"/assist/polls/{private.pk}/").status_code == 404
