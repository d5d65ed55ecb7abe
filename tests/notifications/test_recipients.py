"""Recipients come from the apps that emit the events, through the registry in
notifications/recipients.py: each kind has one resolver, and a kind without one is refused
loudly, never delivered to no one."""

import logging

import pytest
from django.core import checks

from notifications import delivery, recipients, tasks
from notifications.checks import every_kind_has_recipients
from notifications.models import Kind, Notification, OutboxEvent
from tests.district_codes import SAJIK
from tests.factories import CitizenFactory, PollFactory
from voting import notices


def test_every_kind_has_its_producers_resolver():
    assert recipients.registered_kinds() == set(Kind.values)
    assert every_kind_has_recipients() == []
    assert "notifications.E001" not in {message.id for message in checks.run_checks()}


def test_the_system_check_names_a_kind_nobody_registered(monkeypatch):
    monkeypatch.delitem(recipients._resolvers, Kind.OUTCOME.value)
    [error] = every_kind_has_recipients()
    assert (error.id, error.level) == ("notifications.E001", checks.ERROR)
    assert "'outcome'" in error.msg


def test_a_kind_has_one_resolver():
    recipients.register(Kind.POLL_OPENED, notices.poll_opened_recipients)  # again: harmless
    with pytest.raises(ValueError, match="already has a resolver"):
        recipients.register(Kind.POLL_OPENED, notices.outcome_recipients)
    with pytest.raises(ValueError):
        recipients.register("poll_reopened", notices.outcome_recipients)
    assert recipients._resolvers[Kind.POLL_OPENED] is notices.poll_opened_recipients


@pytest.mark.django_db
def test_an_event_of_an_unregistered_kind_is_refused_loudly_and_kept_for_later(monkeypatch, caplog):
    citizens = CitizenFactory.create_batch(2, district_id=SAJIK)
    poll = PollFactory()
    orphan = notices.announce_poll_opened(poll)
    assert orphan is not None
    monkeypatch.delitem(recipients._resolvers, Kind.POLL_OPENED.value)

    with (
        caplog.at_level(logging.ERROR, logger="notifications.recipients"),
        pytest.raises(recipients.UnregisteredKind),
    ):
        delivery.fan_out_batch(orphan.pk)
    assert "notification_kind_unregistered" in caplog.text
    orphan.refresh_from_db()
    assert (orphan.fanned_out_at, orphan.recipients) == (None, 0)  # not done: resumable
    assert not Notification.objects.exists()

    # The scan keeps the other events moving, and keeps this one on its list.
    reminder = notices.announce_poll_closing(poll)
    assert reminder is not None
    assert tasks.scan() == {"resumed": 2}
    reminder.refresh_from_db()
    assert reminder.fanned_out_at is not None
    assert tasks.unfinished_events(orphan.created_at) == [orphan.pk]

    monkeypatch.undo()  # the resolver is back (the app deployed again): the event goes out
    delivery.deliver(orphan.pk)
    told = set(Notification.objects.filter(event=orphan).values_list("user_id", flat=True))
    assert told == {c.pk for c in citizens}


@pytest.mark.django_db
def test_each_kind_reaches_the_recipients_its_producer_names():
    """Through the registry, end to end: the resolvers the producers registered are the ones
    fan-out uses (tests/notifications/test_delivery.py and tests/voting/test_outcome.py check
    each audience in detail)."""
    from proposals import notices as proposal_notices
    from tests.proposals.factories import ProposalFactory

    poll = PollFactory()
    proposal = ProposalFactory()
    resolvers = {
        Kind.POLL_OPENED: notices.poll_opened_recipients,
        Kind.POLL_CLOSING: notices.poll_closing_recipients,
        Kind.OUTCOME: notices.outcome_recipients,
        Kind.PROPOSAL: proposal_notices.proposal_recipients,
    }
    for kind, resolver in resolvers.items():
        assert recipients._resolvers[kind] is resolver
        subject = proposal.pk if kind == Kind.PROPOSAL else poll.pk
        event = OutboxEvent(kind=kind, subject_id=subject)
        expected = resolver(event)
        assert expected is not None
        got = recipients.recipients(event)
        assert got is not None
        assert set(got) == set(expected.filter(is_active=True))
