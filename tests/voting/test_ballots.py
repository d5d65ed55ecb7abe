"""Casting a ballot through HTTP: exactly once, secretly, counted, with a receipt."""

import pytest
from django.core.management import call_command
from django.db import connection

from tests.factories import CitizenFactory, PollFactory
from voting import tallies
from voting.models import Ballot, BallotChoice, IdempotencyRecord, Participation

pytestmark = pytest.mark.django_db

SAJIK = "1111053000"  # 종로구 사직동
JONGNO = "1111000000"


def ballots_url(poll) -> str:
    return f"/api/v1/polls/{poll.pk}/ballots/"


@pytest.fixture
def resident(db):
    return CitizenFactory(district_id=SAJIK, birth_year=1987, gender="female")


@pytest.fixture
def resident_api(resident, client_for):
    return client_for(resident)


def test_cast_ballot_is_counted_with_a_receipt(resident, resident_api):
    poll = PollFactory()
    yes, _no = poll.options.all()

    response = resident_api.post(ballots_url(poll), {"options": [yes.pk]}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["poll"] == poll.pk
    assert body["options"] == [yes.pk]
    assert len(body["receipt"]) == 23  # XXXXX-XXXXX-XXXXX-XXXXX
    assert Participation.objects.filter(poll=poll, voter=resident).count() == 1
    ballot = Ballot.objects.get(poll=poll)
    # What breakdowns need, and nothing that names the voter.
    assert (ballot.gu_code, ballot.dong_code, ballot.gender, ballot.channel) == (
        JONGNO,
        SAJIK,
        "female",
        "app",
    )
    assert ballot.age_band in (30, 40)
    assert body["receipt"] not in ballot.receipt_hash
    tally = tallies.read(poll.pk)
    assert tally.overall.ballots == 1
    assert tally.overall.votes == {yes.pk: 1}
    assert tally.breakdown["gu"][JONGNO].ballots == 1


def test_second_ballot_is_409_and_changes_nothing(resident_api):
    poll = PollFactory()
    yes, no = poll.options.all()
    assert (
        resident_api.post(ballots_url(poll), {"options": [yes.pk]}, format="json").status_code
        == 201
    )

    response = resident_api.post(ballots_url(poll), {"options": [no.pk]}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "already_voted"
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert tallies.read(poll.pk).overall.votes == {yes.pk: 1}


def test_receipt_confirms_the_ballot_to_its_holder(resident_api, api):
    poll = PollFactory(options=["A", "B", "C"])
    b = poll.options.get(label="B")
    receipt = resident_api.post(ballots_url(poll), {"options": [b.pk]}, format="json").json()[
        "receipt"
    ]

    response = api.get(f"/api/v1/receipts/{receipt.lower()}/")

    assert response.status_code == 200
    assert response.json() == {
        "poll": poll.pk,
        "poll_title": poll.title,
        "options": [{"id": b.pk, "label": "B"}],
        "counted": True,
    }
    assert api.get("/api/v1/receipts/AAAAA-AAAAA-AAAAA-AAAAA/").status_code == 404
    assert api.get("/api/v1/receipts/short/").json()["code"] == "not_found"


def test_participation_and_ballot_share_nothing(resident, resident_api):
    poll = PollFactory()
    resident_api.post(ballots_url(poll), {"options": [poll.options.first().pk]}, format="json")
    participation = Participation.objects.get()
    ballot = Ballot.objects.get()

    assert participation.pk != ballot.pk
    ballot_values = {str(v) for v in Ballot.objects.values().get().values()}
    # No column of a ballot can point at a person or a participation.
    related = {f.related_model for f in Ballot._meta.get_fields() if f.is_relation}
    assert resident.__class__ not in related
    assert Participation not in related
    assert str(participation.pk) not in ballot_values
    assert resident.phone not in ballot_values
    # No timestamp on the ballot at all; the participation keeps the day only.
    assert not [f for f in Ballot._meta.get_fields() if f.get_internal_type() == "DateTimeField"]


def test_deleted_account_cannot_vote_again_with_the_same_phone(resident, client_for):
    poll = PollFactory()
    option = poll.options.first()
    client_for(resident).post(ballots_url(poll), {"options": [option.pk]}, format="json")
    phone = resident.phone
    resident.delete()

    again = CitizenFactory(phone=phone, district_id=SAJIK, birth_year=1987)
    response = client_for(again).post(ballots_url(poll), {"options": [option.pk]}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "already_voted"
    # The first ballot still counts; the participation outlived the account.
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert Participation.objects.filter(poll=poll).count() == 1


def test_idempotent_retry_replays_the_first_answer(resident_api):
    poll = PollFactory()
    yes, no = poll.options.all()
    headers = {"HTTP_IDEMPOTENCY_KEY": "retry-7f3c-5d0c9e41b7a3"}
    first = resident_api.post(ballots_url(poll), {"options": [yes.pk]}, format="json", **headers)

    replay = resident_api.post(ballots_url(poll), {"options": [yes.pk]}, format="json", **headers)
    other_body = resident_api.post(
        ballots_url(poll), {"options": [no.pk]}, format="json", **headers
    )

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_mismatch"
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_idempotency_record_reveals_neither_voter_nor_receipt(resident, resident_api):
    poll = PollFactory()
    receipt = resident_api.post(
        ballots_url(poll),
        {"options": [poll.options.first().pk]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1-5d0c9e41b7a3",
    ).json()["receipt"]
    record = IdempotencyRecord.objects.get()
    stored = f"{record.lookup}{record.fingerprint}{bytes(record.sealed_body)!r}"
    assert receipt not in stored
    assert receipt.replace("-", "") not in stored
    assert str(resident.pk) != record.lookup


def test_verify_tallies_agrees_and_detects_tampering(resident_api, capsys):
    poll = PollFactory()
    resident_api.post(ballots_url(poll), {"options": [poll.options.first().pk]}, format="json")
    call_command("verify_tallies", str(poll.pk))
    assert "ok" in capsys.readouterr().out

    with connection.cursor() as cursor:
        cursor.execute("UPDATE voting_tallycell SET count = count + 1 WHERE option_id = 0")
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_tallies", str(poll.pk))
    assert exit_info.value.code == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_multiple_choice_counts_each_option_and_one_ballot(client_for):
    poll = PollFactory(kind="multiple", min_choices=1, max_choices=2, options=["A", "B", "C"])
    a, b, c = poll.options.all()
    for choice in ([a.pk, b.pk], [b.pk], [a.pk, c.pk]):
        citizen = CitizenFactory()
        assert (
            client_for(citizen)
            .post(ballots_url(poll), {"options": choice}, format="json")
            .status_code
            == 201
        )
    tally = tallies.read(poll.pk)
    assert tally.overall.ballots == 3
    assert tally.overall.votes == {a.pk: 2, b.pk: 2, c.pk: 1}
    assert BallotChoice.objects.filter(ballot__poll=poll).count() == 5
    assert tally == tallies.recount(poll.pk)
