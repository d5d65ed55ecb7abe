"""Casting a ballot through HTTP: exactly once, sealed at once, counted later in a batch, with a
receipt. (What the receipt answers afterwards: tests/voting/test_receipts.py.)"""

from collections import Counter

import pytest
from django.core.management import call_command

from tests.ballot_box import assert_box_consistent, cast_many, close_and_count, opened_envelopes
from tests.district_codes import JONGNO, SAJIK
from tests.factories import CitizenFactory, PollFactory, born
from voting import counting, receipts, tallies
from voting.models import (
    BoardEntry,
    BoardTracker,
    Envelope,
    IdempotencyRecord,
    Participation,
    Poll,
    TallyCell,
)

pytestmark = pytest.mark.django_db


def ballots_url(poll) -> str:
    return f"/api/v1/polls/{poll.pk}/ballots/"


@pytest.fixture
def k() -> int:
    """The batch minimum: the fewest ballots any total is ever built from."""
    return counting.k()


@pytest.fixture
def resident(db, clock):
    """35 this year (the clock stands still: the year cannot turn before the ballot is sealed)."""
    return CitizenFactory(district_id=SAJIK, birth_year=born(35), gender="female")


@pytest.fixture
def resident_api(resident, client_for):
    return client_for(resident)


def test_a_ballot_is_sealed_at_once_and_counted_in_a_batch_later(resident, resident_api, k):
    """The 201 seals an envelope holding the choice and what the breakdowns need (gu, age band,
    gender, the receipt's tracker) and nothing that names the voter; no number moves until the
    counter counts it with at least k - 1 others."""
    poll = PollFactory()
    yes, no = poll.options.all()

    response = resident_api.post(ballots_url(poll), {"options": [yes.pk]}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {"poll": poll.pk, "options": [yes.pk], "receipt": body["receipt"]}
    assert len(body["receipt"]) == 23  # XXXXX-XXXXX-XXXXX-XXXXX
    assert Participation.objects.filter(poll=poll, voter=resident).count() == 1
    envelope = Envelope.objects.get(poll=poll)
    assert envelope.lookup == receipts.envelope_lookup(body["receipt"])
    (sealed,) = opened_envelopes(poll)
    assert set(sealed) == {"p", "o", "g", "a", "s", "t", "c"}
    assert (sealed["p"], sealed["o"], sealed["g"], sealed["s"]) == (
        poll.pk,
        [yes.pk],
        JONGNO,
        "female",
    )
    assert sealed["a"] == 30  # the age band: 35 is in the thirties
    assert sealed["t"] == receipts.tracker(body["receipt"])
    assert sealed["c"] == "app"  # the channel: the citizen's own app
    # One ballot moves no counter.
    assert not TallyCell.objects.filter(poll=poll).exists()
    assert tallies.read(poll.pk).overall.ballots == 0

    cast_many(poll, k - 1, [no.pk], district_id=SAJIK, birth_year=born(35), gender="female")
    close_and_count(poll)

    assert not Envelope.objects.filter(poll=poll).exists()
    tally = tallies.read(poll.pk)
    assert tally.overall.ballots == k
    assert tally.overall.votes == {yes.pk: 1, no.pk: k - 1}
    assert tally.breakdown["gu"][JONGNO].ballots == k
    assert BoardTracker.objects.filter(tracker=receipts.tracker(body["receipt"])).exists()
    assert_box_consistent([poll.pk])


def test_second_ballot_is_409_and_changes_nothing(resident_api, k):
    poll = PollFactory()
    yes, no = poll.options.all()
    assert (
        resident_api.post(ballots_url(poll), {"options": [yes.pk]}, format="json").status_code
        == 201
    )

    response = resident_api.post(ballots_url(poll), {"options": [no.pk]}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "already_voted"
    assert Participation.objects.filter(poll=poll).count() == 1
    assert [envelope["o"] for envelope in opened_envelopes(poll)] == [[yes.pk]]
    # Counted to the end with others who chose yes: the refused "no" is nowhere.
    cast_many(poll, k - 1, choose=[yes.pk])
    close_and_count(poll)
    assert tallies.read(poll.pk).overall.votes == {yes.pk: k}
    assert_box_consistent([poll.pk])


def test_participation_and_envelope_share_nothing(resident, resident_api, k):
    """A database reader holding both rows: the envelope points at no person and no
    participation, carries no time, and the receipt is not in it; once counted, the ballot lives
    in a batch that points at nothing but the poll."""
    poll = PollFactory()
    receipt = resident_api.post(
        ballots_url(poll), {"options": [poll.options.first().pk]}, format="json"
    ).json()["receipt"]
    participation = Participation.objects.get()
    envelope = Envelope.objects.get()

    related = {f.related_model for f in Envelope._meta.get_fields() if f.is_relation}
    assert related == {Poll}
    stored = {str(v) for v in Envelope.objects.values().get().values()}
    assert str(participation.pk) not in stored
    assert resident.phone not in stored
    assert receipts.tracker(receipt) not in stored  # the board's hash is not the envelope's
    assert receipt.replace("-", "").encode() not in bytes(envelope.sealed)
    assert not [
        f
        for f in Envelope._meta.get_fields()
        if f.get_internal_type() in ("DateTimeField", "DateField")
    ]

    cast_many(poll, k - 1)
    close_and_count(poll)
    assert {f.related_model for f in BoardEntry._meta.get_fields() if f.is_relation} == {Poll}
    assert {f.related_model for f in BoardTracker._meta.get_fields() if f.is_relation} == {
        BoardEntry
    }


def test_deleted_account_cannot_vote_again_with_the_same_phone(resident, client_for, k):
    poll = PollFactory()
    option = poll.options.first()
    client_for(resident).post(ballots_url(poll), {"options": [option.pk]}, format="json")
    phone = resident.phone
    resident.delete()

    again = CitizenFactory(phone=phone, district_id=SAJIK, birth_year=1987)
    response = client_for(again).post(ballots_url(poll), {"options": [option.pk]}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "already_voted"
    # The participation outlived the account, and the first ballot is still sealed, to count.
    assert Participation.objects.filter(poll=poll).count() == 1
    assert Envelope.objects.filter(poll=poll).count() == 1
    cast_many(poll, k - 1, choose=[option.pk])
    close_and_count(poll)
    assert tallies.read(poll.pk).overall.votes == {option.pk: k}
    assert_box_consistent([poll.pk])


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
    assert Participation.objects.filter(poll=poll).count() == 1
    assert [envelope["o"] for envelope in opened_envelopes(poll)] == [[yes.pk]]


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


def test_verify_tallies_agrees_and_detects_tampering(capsys, k):
    """An operator checks a poll before and after counting, then someone edits the database by
    hand: a counter raised, a participation added without a ballot."""
    poll = PollFactory()
    cast_many(poll, k)
    call_command("verify_tallies", str(poll.pk))
    assert f"poll {poll.pk}: ok (0 ballots counted, {k} sealed, {k} participations)" in (
        capsys.readouterr().out
    )
    close_and_count(poll)
    call_command("verify_tallies", str(poll.pk))
    assert f"poll {poll.pk}: ok ({k} ballots counted, 0 sealed, {k} participations)" in (
        capsys.readouterr().out
    )

    counter = TallyCell.objects.get(poll=poll, dimension="", option_id=tallies.BALLOTS)
    TallyCell.objects.filter(pk=counter.pk).update(count=counter.count + 1)
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_tallies", str(poll.pk))
    assert exit_info.value.code == 1
    assert "MISMATCH" in capsys.readouterr().out

    TallyCell.objects.filter(pk=counter.pk).update(count=counter.count)
    Participation.objects.create(poll=poll, voter=CitizenFactory(), voter_key="f" * 64)
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_tallies", str(poll.pk))
    assert exit_info.value.code == 1
    assert f"{k + 1} participations but {k} ballots counted and 0 sealed" in (
        capsys.readouterr().out
    )


def test_multiple_choice_counts_each_option_and_one_ballot(client_for, k):
    poll = PollFactory(kind="multiple", min_choices=1, max_choices=2, options=["A", "B", "C"])
    a, b, c = poll.options.all()
    patterns = ([a.pk, b.pk], [b.pk], [a.pk, c.pk])
    choices = [patterns[i % 3] for i in range(k + 2)]
    for choice in choices:
        response = client_for(CitizenFactory()).post(
            ballots_url(poll), {"options": choice}, format="json"
        )
        assert response.status_code == 201

    close_and_count(poll)

    tally = tallies.read(poll.pk)
    assert tally.overall.ballots == len(choices)
    assert tally.overall.votes == dict(Counter(pk for choice in choices for pk in choice))
    # The board holds each ballot once, as the set of options it chose.
    on_board = [
        ballot
        for ballots in BoardEntry.objects.filter(poll=poll).values_list("ballots", flat=True)
        for ballot in ballots
    ]
    assert sorted(on_board) == sorted(sorted(choice) for choice in choices)
    assert tally.overall == tallies.recount(poll.pk).overall
    assert_box_consistent([poll.pk])
