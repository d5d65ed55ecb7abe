"""The outcome: what was decided because of a closed poll, recorded by officials, shown on the
poll and told to the citizens who voted."""

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from notifications import delivery
from notifications.models import Kind, Notification, OutboxEvent
from tests.ballot_box import close_and_count, count_now
from tests.district_codes import GANGNAM, JONGNO, SAJIK, YEOKSAM1
from tests.factories import CitizenFactory, OfficialFactory, PollFactory
from voting import casting, services, tallies
from voting.models import Outcome

pytestmark = pytest.mark.django_db


def closed_poll_with_voters(n_voters: int = 2, residence: str = SAJIK, **kwargs):
    poll = PollFactory(**kwargs)
    voters = CitizenFactory.create_batch(n_voters, district_id=residence)
    for voter in voters:
        casting.cast_ballot(poll=poll, voter=voter, option_ids=[poll.options.first().pk])
    services.close_poll(poll=poll, by=None)
    return poll, voters


def test_recording_an_outcome_tells_exactly_those_who_voted():
    poll, voters = closed_poll_with_voters()
    CitizenFactory(district_id=SAJIK)  # in the audience, did not vote
    official = OfficialFactory()

    outcome = services.record_outcome(
        poll=poll,
        by=official,
        summary="2027년 상반기부터 시행합니다.",
        decided_on=date(2026, 12, 1),
        link="https://news.seoul.go.kr/decision/1",
    )

    event = OutboxEvent.objects.get(kind=Kind.OUTCOME)
    assert (event.subject_id, event.dedupe_key) == (poll.pk, f"outcome:{poll.pk}")
    delivery.deliver(event.pk)
    told = set(Notification.objects.filter(event=event).values_list("user_id", flat=True))
    assert told == {v.pk for v in voters}
    entry = AuditEntry.objects.get(action=AuditEntry.Action.OUTCOME)
    assert (entry.subject_type, entry.subject_id, entry.actor_id) == ("poll", poll.pk, official.pk)
    assert entry.changes["summary"] == [None, "2027년 상반기부터 시행합니다."]
    assert outcome.recorded_by == official


def test_voters_are_told_whether_their_ballots_were_counted_or_stayed_sealed():
    """The counter turns envelopes into anonymous ballots and deletes them; who voted is kept
    apart (participations), so the outcome reaches the 2k voters of a counted poll and the
    voters of a poll whose turnout stayed below k alike — and nobody else."""
    k = settings.BALLOT_BATCH_MIN
    counted = PollFactory()
    counted_voters = CitizenFactory.create_batch(2 * k, district_id=SAJIK)
    for voter in counted_voters:
        casting.cast_ballot(poll=counted, voter=voter, option_ids=[counted.options.first().pk])
    close_and_count(counted)
    sealed, sealed_voters = closed_poll_with_voters(k - 1)
    assert count_now() == 0
    assert tallies.read_totals([counted.pk, sealed.pk]) == {counted.pk: 2 * k}

    told = {}
    for poll in (counted, sealed):
        services.record_outcome(poll=poll, by=None, summary="시행", decided_on=date(2026, 12, 1))
        event = OutboxEvent.objects.get(kind=Kind.OUTCOME, subject_id=poll.pk)
        delivery.deliver(event.pk)
        told[poll.pk] = set(Notification.objects.filter(event=event).values_list("user", flat=True))

    assert told[counted.pk] == {v.pk for v in counted_voters}
    assert told[sealed.pk] == {v.pk for v in sealed_voters}


def test_a_correction_is_audited_but_not_announced_again():
    poll, _ = closed_poll_with_voters()
    services.record_outcome(poll=poll, by=None, summary="시행", decided_on=date(2026, 12, 1))
    services.record_outcome(poll=poll, by=None, summary="보류", decided_on=date(2026, 12, 2))

    assert Outcome.objects.get().summary == "보류"
    assert OutboxEvent.objects.filter(kind=Kind.OUTCOME).count() == 1
    edits = AuditEntry.objects.filter(action=AuditEntry.Action.OUTCOME).order_by("id")
    assert edits.last().changes["summary"] == ["시행", "보류"]


def test_no_outcome_for_a_poll_still_open():
    poll = PollFactory()
    with pytest.raises(services.PollNotClosed):
        services.record_outcome(poll=poll, by=None, summary="x", decided_on=date(2026, 1, 1))
    assert not Outcome.objects.exists()
    assert not OutboxEvent.objects.filter(kind=Kind.OUTCOME).exists()


def test_the_poll_detail_shows_the_outcome(citizen, client_for):
    poll, voters = closed_poll_with_voters()
    services.record_outcome(
        poll=poll,
        by=None,
        summary="시행합니다.",
        decided_on=date(2026, 12, 1),
        link="https://seoul.go.kr/d/1",
    )
    body = client_for(voters[0]).get(f"/api/v1/polls/{poll.pk}/").json()
    outcome = body["outcome"]
    assert outcome["summary"] == "시행합니다."
    assert outcome["decided_on"] == "2026-12-01"
    assert outcome["link"] == "https://seoul.go.kr/d/1"
    assert outcome["attachment"] is None
    # Public accountability: everyone who can see the poll reads what was decided.
    assert client_for(citizen).get(f"/api/v1/polls/{poll.pk}/").json()["outcome"] == outcome


# --- In the admin --------------------------------------------------------------------------------


def test_an_official_records_the_outcome_in_the_admin(client):
    poll, _ = closed_poll_with_voters()
    official = OfficialFactory(is_superuser=True)
    client.force_login(official)

    response = client.post(
        "/admin/voting/outcome/add/",
        {
            "poll": poll.pk,
            "summary": "예산을 편성했습니다.",
            "link": "",
            "decided_on": "2026-12-01",
        },
    )

    assert response.status_code == 302, response.content
    outcome = Outcome.objects.get(poll=poll)
    assert (outcome.summary, outcome.recorded_by) == ("예산을 편성했습니다.", official)
    assert OutboxEvent.objects.filter(kind=Kind.OUTCOME, subject_id=poll.pk).exists()
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.OUTCOME, subject_type="poll", subject_id=poll.pk
    ).exists()


def test_a_gu_official_can_choose_only_closed_polls_of_their_gu(client):
    now = timezone.now()
    mine, _ = closed_poll_with_voters(1, districts=[JONGNO])
    theirs, _ = closed_poll_with_voters(1, residence=YEOKSAM1, districts=[GANGNAM])
    still_open = PollFactory(districts=[JONGNO], closes_at=now + timedelta(days=1))
    official = OfficialFactory(role="official", gu=JONGNO)
    client.force_login(official)

    page = client.get("/admin/voting/outcome/add/")
    assert page.status_code == 200
    choices = {c[0].value for c in page.context["adminform"].form.fields["poll"].choices if c[0]}
    assert choices == {mine.pk}
    assert still_open.pk not in choices

    refused = client.post(
        "/admin/voting/outcome/add/",
        {"poll": theirs.pk, "summary": "x", "decided_on": "2026-12-01"},
    )
    assert refused.status_code == 200  # the form says the choice is invalid
    assert not Outcome.objects.exists()


def test_the_outcome_can_carry_an_attachment_of_an_office_document_type(client, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    poll, voters = closed_poll_with_voters()
    client.force_login(OfficialFactory(is_superuser=True))
    form = {"poll": poll.pk, "summary": "예산 편성", "link": "", "decided_on": "2026-12-01"}

    refused = client.post(
        "/admin/voting/outcome/add/",
        {**form, "attachment": SimpleUploadedFile("run.exe", b"MZ", "application/octet-stream")},
    )
    assert refused.status_code == 200 and not Outcome.objects.exists()

    accepted = client.post(
        "/admin/voting/outcome/add/",
        {**form, "attachment": SimpleUploadedFile("결정문.pdf", b"%PDF-1.4", "application/pdf")},
    )
    assert accepted.status_code == 302
    outcome = Outcome.objects.get()
    assert outcome.attachment.name.endswith(".pdf")
    body = APIClient()
    body.force_authenticate(voters[0])
    url = body.get(f"/api/v1/polls/{poll.pk}/").json()["outcome"]["attachment"]
    # A private file: a stable link that checks who asks (tests/voting/test_media.py).
    assert url == f"http://testserver/api/v1/polls/{poll.pk}/outcome/attachment/"
    assert (settings.PRIVATE_MEDIA_ROOT / outcome.attachment.name).exists()
