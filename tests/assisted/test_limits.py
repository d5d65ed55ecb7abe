"""The operators' limits: ballots per hour, texts per number, and the alert on an operator far
above the rest of the centre."""

import logging

import pytest
from django.test import Client

from accounts import sms
from assisted.models import Identification, OperatorAlert
from audit.models import AuditEntry
from tests.assisted.conftest import identify_by_sms
from tests.factories import CitizenFactory, OfficialFactory
from voting.models import Participation

pytestmark = pytest.mark.django_db


def cast_for(client: Client, poll, citizen) -> int:
    """One assisted ballot for ``citizen``: the HTTP status of the cast."""
    identification_id = identify_by_sms(client, poll_id=poll.pk, phone=citizen.phone)
    yes = poll.options.get(label="찬성")
    return client.post(
        f"/assist/calls/{identification_id}/ballot/", {"option": [yes.pk]}
    ).status_code


def operator_client() -> tuple[Client, object]:
    operator = OfficialFactory(role="operator")
    client = Client()
    client.force_login(operator)
    return client, operator


def test_an_operator_casts_no_more_than_the_hourly_rate(settings, poll):
    settings.ASSISTED_RATE = "2/h"
    client, _operator = operator_client()
    callers = CitizenFactory.create_batch(3)

    statuses = [cast_for(client, poll, caller) for caller in callers]

    assert statuses == [302, 302, 429]
    assert Participation.objects.filter(poll=poll).count() == 2
    assert Identification.objects.filter(cast_at__isnull=False).count() == 2


def test_codes_to_one_number_are_rate_limited(operator_client, poll, caller, settings):
    settings.ASSISTED_PHONE_RATE = "2/h"
    statuses = [
        operator_client.post(f"/assist/polls/{poll.pk}/sms/", {"phone": caller.phone}).status_code
        for _ in range(3)
    ]

    assert statuses == [302, 302, 429]
    assert len(sms.outbox) == 2


def test_an_operator_far_above_the_centres_median_is_flagged(settings, poll, caplog):
    settings.ASSISTED_ANOMALY_MIN = 4
    for _ in range(2):  # two colleagues, one ballot each: the median is 1
        colleague, _colleague = operator_client()
        cast_for(colleague, poll, CitizenFactory())
    busy, operator = operator_client()

    with caplog.at_level(logging.WARNING, logger="assisted.monitoring"):
        for caller in CitizenFactory.create_batch(5):
            assert cast_for(busy, poll, caller) == 302

    [alert] = OperatorAlert.objects.all()  # once an hour, not once a ballot past the line
    assert (alert.operator, alert.ballots_last_hour, alert.centre_median) == (operator, 5, 1.0)
    entry = AuditEntry.objects.get(action="assisted_alert")
    assert (entry.subject_type, entry.subject_id) == ("operator", operator.pk)
    [line] = [r.getMessage() for r in caplog.records if "assisted_anomaly" in r.getMessage()]
    assert "+82" not in line


def test_an_operator_alone_is_never_flagged(settings, poll):
    settings.ASSISTED_ANOMALY_MIN = 1
    client, _operator = operator_client()

    for caller in CitizenFactory.create_batch(3):
        cast_for(client, poll, caller)

    assert not OperatorAlert.objects.exists()


def test_officials_see_the_alerts_in_the_admin(settings, poll):
    settings.ASSISTED_ANOMALY_MIN = 1
    colleague, _colleague = operator_client()
    cast_for(colleague, poll, CitizenFactory())
    busy, operator = operator_client()
    for caller in CitizenFactory.create_batch(4):
        cast_for(busy, poll, caller)
    official = Client()
    official.force_login(OfficialFactory(role="official"))

    page = official.get("/admin/assisted/operatoralert/")

    assert page.status_code == 200
    assert operator.username in page.content.decode()
