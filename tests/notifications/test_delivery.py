"""The outbox: events written with what they announce, fanned out to the right citizens, pushed
once, resumable at any point."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Verification
from notifications import delivery, push, tasks
from notifications.models import Device, Kind, Notification, OptOut, OutboxEvent
from tests.district_codes import JONGNO, SAJIK, YEOKSAM1
from tests.factories import CitizenFactory, OfficialFactory, PollFactory
from voting import casting, notices, services

pytestmark = pytest.mark.django_db


def draft(**kwargs):
    return PollFactory(published=False, **kwargs)


def inbox_users(event: OutboxEvent) -> set[int]:
    return set(Notification.objects.filter(event=event).values_list("user_id", flat=True))


# --- Events are written with the change they announce --------------------------------------------


def test_publishing_an_open_poll_writes_its_event_in_the_same_transaction():
    poll = draft()
    services.publish_poll(poll=poll, by=OfficialFactory())

    event = OutboxEvent.objects.get()
    assert (event.kind, event.subject_id, event.dedupe_key) == (
        Kind.POLL_OPENED,
        poll.pk,
        f"poll_opened:{poll.pk}",
    )
    assert event.payload == {"title": poll.title}
    assert event.fanned_out_at is None


def test_a_rolled_back_publication_leaves_no_event():
    poll = draft()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.publish_poll(poll=poll, by=None)
        raise RuntimeError("the request failed after publishing")
    assert not OutboxEvent.objects.exists()


def test_a_poll_published_for_later_is_announced_by_the_clock_scan_once():
    poll = draft(opens_at=timezone.now() + timedelta(hours=2))
    services.publish_poll(poll=poll, by=None)
    assert not OutboxEvent.objects.exists()  # not open yet

    later = timezone.now() + timedelta(hours=3)
    assert notices.announce_opened_polls(now=later) == 1
    assert notices.announce_opened_polls(now=later) == 0
    assert OutboxEvent.objects.get().dedupe_key == f"poll_opened:{poll.pk}"


def test_emitting_twice_writes_one_event():
    from notifications.events import emit

    assert emit(Kind.POLL_OPENED, subject_id=1, dedupe_key="poll_opened:1") is not None
    assert emit(Kind.POLL_OPENED, subject_id=1, dedupe_key="poll_opened:1") is None
    assert OutboxEvent.objects.count() == 1


# --- Fan-out reaches exactly the audience --------------------------------------------------------


def test_fan_out_reaches_the_audience_that_may_vote_and_no_one_else():
    poll = draft(min_verification=Verification.RESIDENT)
    poll.districts.set([JONGNO])
    verified = {"verification": Verification.RESIDENT}
    resident = CitizenFactory(district_id=SAJIK, **verified)
    gu_resident = CitizenFactory(district_id=JONGNO, **verified)
    elsewhere = CitizenFactory(district_id=YEOKSAM1, **verified)
    unverified = CitizenFactory(district_id=SAJIK)  # phone only: may not vote in this poll
    left = CitizenFactory(district_id=SAJIK, is_active=False, **verified)
    muted = CitizenFactory(district_id=SAJIK, **verified)
    OptOut.objects.create(user=muted, kind=Kind.POLL_OPENED)
    OptOut.objects.create(user=resident, kind=Kind.OUTCOME)  # another kind: still told
    OfficialFactory()

    services.publish_poll(poll=poll, by=None)
    event = OutboxEvent.objects.get()
    delivery.deliver(event.pk)

    assert inbox_users(event) == {resident.pk, gu_resident.pk}
    assert elsewhere.pk not in inbox_users(event)
    assert not {unverified.pk, left.pk, muted.pk} & inbox_users(event)
    event.refresh_from_db()
    assert event.recipients == 2
    assert event.fanned_out_at is not None


def test_fan_out_works_in_batches_with_a_constant_number_of_queries(
    settings, django_assert_num_queries
):
    settings.NOTIFY_FANOUT_BATCH = 3
    citizens = CitizenFactory.create_batch(7, district_id=SAJIK)
    services.publish_poll(poll=draft(), by=None)
    event = OutboxEvent.objects.get()

    for expected in (3, 6):
        # savepoint, lock the event, the poll, its districts, its groups, the recipients,
        # the insert, the cursor, release: the same for every batch, whatever the audience
        with django_assert_num_queries(9):
            assert delivery.fan_out_batch(event.pk) is True
        event.refresh_from_db()
        assert event.recipients == expected
        assert event.cursor == sorted(c.pk for c in citizens)[expected - 1]
    assert delivery.fan_out_batch(event.pk) is False
    event.refresh_from_db()
    assert (event.recipients, event.fanned_out_at is not None) == (7, True)
    assert inbox_users(event) == {c.pk for c in citizens}
    # Finished: nothing more happens, however often it is asked.
    with django_assert_num_queries(3):
        assert delivery.fan_out_batch(event.pk) is False


def test_each_inbox_row_is_pushed_once_with_its_devices(settings):
    settings.NOTIFY_PUSH_BATCH = 2
    with_phone, without = CitizenFactory.create_batch(2, district_id=SAJIK)
    Device.objects.create(user=with_phone, token="tok-a", platform="ios")
    Device.objects.create(user=with_phone, token="tok-b", platform="android")
    poll = draft()
    services.publish_poll(poll=poll, by=None)
    event = OutboxEvent.objects.get()

    delivery.deliver(event.pk)
    delivery.deliver(event.pk)  # again: nothing is sent twice

    assert len(push.outbox) == 2
    by_user = {m.user_id: m for m in push.outbox}
    assert set(by_user[with_phone.pk].tokens) == {"tok-a", "tok-b"}
    assert by_user[without.pk].tokens == ()
    message = by_user[with_phone.pk]
    row = Notification.objects.get(user=with_phone)
    assert message.key == f"n{row.pk}"
    assert message.title == "회원님을 위한 새 투표가 열렸습니다"
    assert message.body == poll.title
    assert message.data == {
        "kind": "poll_opened",
        "poll_id": str(poll.pk),
        "notification_id": str(row.pk),
    }
    assert not Notification.objects.filter(pushed_at__isnull=True).exists()


class FailingBackend(push.BasePushBackend):
    def send_messages(self, messages):
        raise push.PushError("provider unavailable")


class ForgettingBackend(push.InMemoryPushBackend):
    """The provider says this token's app was uninstalled."""

    def send_messages(self, messages):
        self.dead_tokens = ["gone"]
        return super().send_messages(messages)


def test_a_refused_batch_stays_unpushed_and_goes_out_on_the_next_attempt(settings):
    CitizenFactory.create_batch(3, district_id=SAJIK)
    services.publish_poll(poll=draft(), by=None)
    event = OutboxEvent.objects.get()

    settings.PUSH_BACKEND = "tests.notifications.test_delivery.FailingBackend"
    with pytest.raises(push.PushError):
        delivery.deliver(event.pk)
    assert Notification.objects.filter(pushed_at__isnull=True).count() == 3  # nothing lost
    assert event.pk in tasks.unfinished_events(timezone.now())

    settings.PUSH_BACKEND = "notifications.push.InMemoryPushBackend"
    delivery.deliver(event.pk)
    assert len(push.outbox) == 3
    assert tasks.unfinished_events(timezone.now()) == []


def test_devices_the_provider_forgot_are_removed(settings):
    citizen = CitizenFactory(district_id=SAJIK)
    Device.objects.create(user=citizen, token="gone", platform="ios")
    Device.objects.create(user=citizen, token="kept", platform="ios")
    settings.PUSH_BACKEND = "tests.notifications.test_delivery.ForgettingBackend"
    services.publish_poll(poll=draft(), by=None)
    delivery.deliver(OutboxEvent.objects.get().pk)
    assert list(Device.objects.values_list("token", flat=True)) == ["kept"]


def test_a_poll_closed_before_its_fan_out_tells_no_one_more():
    CitizenFactory.create_batch(2, district_id=SAJIK)
    poll = draft()
    services.publish_poll(poll=poll, by=None)
    services.close_poll(poll=poll, by=None)
    event = OutboxEvent.objects.get()

    delivery.deliver(event.pk)

    event.refresh_from_db()
    assert event.fanned_out_at is not None
    assert event.recipients == 0
    assert not Notification.objects.exists()


# --- Closing reminders ---------------------------------------------------------------------------


def test_closing_reminder_goes_to_those_who_have_not_voted(settings):
    settings.NOTIFY_CLOSING_REMINDER_HOURS = 24
    now = timezone.now()
    poll = PollFactory(opens_at=now - timedelta(days=3), closes_at=now + timedelta(hours=5))
    voter, waiting = CitizenFactory.create_batch(2, district_id=SAJIK)
    casting.cast_ballot(poll=poll, voter=voter, option_ids=[poll.options.first().pk])

    assert notices.remind_closing_polls(now=now) == 1
    assert notices.remind_closing_polls(now=now) == 0  # once per poll
    event = OutboxEvent.objects.get(kind=Kind.POLL_CLOSING)
    delivery.deliver(event.pk)
    assert inbox_users(event) == {waiting.pk}


def test_no_reminder_before_the_lead_time_or_for_a_poll_shorter_than_it(settings):
    settings.NOTIFY_CLOSING_REMINDER_HOURS = 24
    now = timezone.now()
    PollFactory(opens_at=now - timedelta(days=3), closes_at=now + timedelta(days=2))
    PollFactory(opens_at=now - timedelta(hours=1), closes_at=now + timedelta(hours=10))
    assert notices.remind_closing_polls(now=now) == 0


# --- The scan keeps everything moving -----------------------------------------------------------


def test_scan_resumes_an_event_a_dead_worker_left_half_done(settings):
    settings.NOTIFY_FANOUT_BATCH = 2
    citizens = CitizenFactory.create_batch(5, district_id=SAJIK)
    services.publish_poll(poll=draft(), by=None)
    event = OutboxEvent.objects.get()
    assert delivery.fan_out_batch(event.pk) is True  # then the worker died
    delivery.push_batch(event.pk)
    assert len(push.outbox) == 2

    result = tasks.scan()  # eager in tests: the resumed delivery runs here

    assert result["resumed"] == 1
    assert inbox_users(event) == {c.pk for c in citizens}
    assert sorted(m.user_id for m in push.outbox) == sorted(c.pk for c in citizens)
    assert tasks.scan()["resumed"] == 0


# --- Proposals -----------------------------------------------------------------------------------


def test_proposal_news_reaches_its_author_and_supporters_only(settings):
    from proposals import services as proposals
    from tests.proposals.factories import ProposalFactory

    settings.PROPOSAL_SUPPORT_THRESHOLD = 3
    proposal = ProposalFactory()
    first, second, bystander = CitizenFactory.create_batch(3)
    muted = CitizenFactory()
    OptOut.objects.create(user=muted, kind=Kind.PROPOSAL)
    proposals.support(proposal=proposal, user=muted)
    proposals.support(proposal=proposal, user=first)
    assert not OutboxEvent.objects.exists()  # below the threshold: nothing to tell
    proposals.support(proposal=proposal, user=second)  # the threshold: under review

    event = OutboxEvent.objects.get()
    assert (event.kind, event.dedupe_key) == (Kind.PROPOSAL, f"proposal:{proposal.pk}:under_review")
    delivery.deliver(event.pk)

    assert inbox_users(event) == {proposal.author_id, first.pk, second.pk}
    assert bystander.pk not in inbox_users(event)
    titles = {m.title for m in push.outbox}
    assert titles == {"제안하거나 지지한 제안이 검토에 들어갔습니다"}


# --- Quiet hours ---------------------------------------------------------------------------------


def _seoul(hour: int):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime(2026, 11, 25, hour, 30, tzinfo=ZoneInfo("Asia/Seoul"))


@pytest.mark.parametrize(
    ("setting", "quiet_at", "loud_at"),
    [("21-8", [21, 23, 0, 7], [8, 12, 20]), ("1-5", [1, 4], [0, 5, 23]), ("", [], [0, 12, 22])],
)
def test_quiet_hours_in_seoul_time(settings, setting, quiet_at, loud_at):
    from notifications import quiet

    settings.NOTIFY_QUIET_HOURS = setting
    assert [quiet.is_quiet(_seoul(h)) for h in quiet_at] == [True] * len(quiet_at)
    assert [quiet.is_quiet(_seoul(h)) for h in loud_at] == [False] * len(loud_at)


def test_at_night_the_inbox_fills_and_the_pushes_wait_for_the_morning(settings):
    from django.utils import timezone as tz

    citizens = CitizenFactory.create_batch(2, district_id=SAJIK)
    services.publish_poll(poll=draft(), by=None)
    event = OutboxEvent.objects.get()
    hour = tz.localtime().hour
    settings.NOTIFY_QUIET_HOURS = f"{hour}-{(hour + 1) % 24}"  # quiet right now

    delivery.deliver(event.pk)

    assert inbox_users(event) == {c.pk for c in citizens}  # the app shows them
    assert push.outbox == []
    assert tasks.unfinished_events(tz.now()) == []  # the scan does not churn all night
    settings.NOTIFY_QUIET_HOURS = f"{(hour + 1) % 24}-{(hour + 2) % 24}"  # morning
    assert tasks.unfinished_events(tz.now()) == [event.pk]
    tasks.scan()
    assert sorted(m.user_id for m in push.outbox) == sorted(c.pk for c in citizens)
