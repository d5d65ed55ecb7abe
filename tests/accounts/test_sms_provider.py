"""The SOLAPI backend (accounts/sms_providers/solapi.py) and the delivery queue
(accounts/sms_queue.py), against a local server speaking SOLAPI's protocol
(tests/accounts/fake_solapi.py): signed requests, the documented answers and errors, retries with
backoff, what each text cost, and what is never written down (numbers, texts).

Celery runs eagerly here (tests/conftest.py): a retry runs at once, and the delay the task asked
for is read from Celery's ``task_retry`` signal.
"""

import logging
import re
import socket
from decimal import Decimal

import pytest
from celery.signals import task_postrun, task_retry
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from rest_framework.test import APIClient

from accounts import sms, sms_queue
from accounts.sms_records import DeliveryStatus, SMSDelivery, recipient_key, sms_delivery_totals
from accounts.tasks import deliver_sms
from tests.accounts import fake_solapi
from tests.accounts.test_auth_flows import SIGNUP, VERIFY_PHONE, code_in, post

pytestmark = pytest.mark.django_db

PHONE = "+821055501234"
CODE_TEXT = "[서울시 엠보팅] 인증번호 493817 (5분 안에 입력하세요)"
# The test numbers (010-5550-xxxx) in any writing, and the code, as whole numbers: a bare "5550"
# also turns up inside a task's duration ("in 4.467365550333151s") or a random sealed blob.
_LEAK = re.compile(r"(?<![\d.])(?:\+?82-?|0)10[- ]?5550[- ]?\d{4}(?!\d)|(?<![\d.])493817(?!\d)")


def _leaks(text: str) -> list[str]:
    return _LEAK.findall(text)


LONG_TEXT = CODE_TEXT + " 본인이 요청하지 않았다면 이 문자를 무시하고 120 다산콜센터로 알려 주세요."


@pytest.fixture
def solapi(settings):
    fake = fake_solapi.FakeSolapi().start()
    settings.SMS_BACKEND = "accounts.sms_providers.solapi.SolapiSMSBackend"
    settings.SMS_API_URL = fake.url
    settings.SMS_API_KEY = fake_solapi.API_KEY
    settings.SMS_API_SECRET = fake_solapi.API_SECRET
    settings.SMS_SENDER_NUMBER = fake_solapi.SENDER
    settings.SMS_API_TIMEOUT = 5.0
    settings.SMS_RETRY_BASE_SECONDS = 2.0
    settings.SMS_RETRY_CAP_SECONDS = 60.0
    settings.SMS_RETRY_MAX = 5
    settings.SMS_DELIVERY_DEADLINE_SECONDS = 300
    yield fake
    fake.stop()


@pytest.fixture
def retry_delays():
    delays: list[float] = []

    def record(sender=None, reason=None, **kwargs):
        delays.append(float(reason.when))

    task_retry.connect(record, weak=False)
    yield delays
    task_retry.disconnect(record)


def send(django_capture_on_commit_callbacks, to: str = PHONE, text: str = CODE_TEXT) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return sms.send_sms(to, text)


def test_a_text_is_signed_sent_and_recorded_with_its_cost(
    solapi, django_capture_on_commit_callbacks
):
    """Operator: reads what each text cost. Promise: the provider accepts the signed request,
    the row says accepted, with SOLAPI's message id, the charge from its answer and the kind it
    billed; the number is a keyed hash and the text is nowhere."""
    assert send(django_capture_on_commit_callbacks) == 1

    assert solapi.auth_refusals == []
    assert solapi.sent == [{"to": "01055501234", "from": fake_solapi.SENDER, "text": CODE_TEXT}]
    row = SMSDelivery.objects.get()
    assert row.status == DeliveryStatus.DELIVERED  # SOLAPI then reported it received
    assert row.reported_at is not None and solapi.list_requests == 1
    assert row.provider == "solapi"
    assert row.provider_message_id.startswith("M4V")
    assert row.cost == Decimal(fake_solapi.SMS_PRICE)  # up to 90 EUC-KR bytes: an SMS
    assert row.kind == "SMS"
    assert row.attempts == 1 and row.finished_at is not None
    assert row.recipient == recipient_key(PHONE)
    stored = " ".join(str(v) for v in SMSDelivery.objects.values().get().values())
    assert not _leaks(stored)


def test_a_long_text_is_billed_as_lms(solapi, django_capture_on_commit_callbacks):
    """The provider bills a text over 90 bytes as a long message: the row records that price."""
    send(django_capture_on_commit_callbacks, text=LONG_TEXT)

    row = SMSDelivery.objects.get()
    assert (row.kind, row.cost) == ("LMS", Decimal(fake_solapi.LMS_PRICE))


def test_nothing_is_sent_when_the_request_rolls_back(solapi):
    """Citizen: a sign-up that fails after asking for a text. Promise: no text, no row."""

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        sms.send_sms(PHONE, CODE_TEXT)
        raise Boom

    assert solapi.requests == 0
    assert not SMSDelivery.objects.exists()


def test_the_request_does_not_wait_for_the_provider(solapi):
    """Citizen: asks for a code while the provider is slow. Promise: the request only queues;
    the provider is called after the request's transaction commits."""
    with transaction.atomic():
        sms.send_sms(PHONE, CODE_TEXT)
        assert solapi.requests == 0
        assert SMSDelivery.objects.get().status == DeliveryStatus.QUEUED


def test_an_unknown_number_is_refused_once_and_not_retried(
    solapi, django_capture_on_commit_callbacks, retry_delays
):
    """Provider: will not register the recipient. Promise: recorded as refused with SOLAPI's
    statusCode, one request only (a retry would never work)."""
    solapi.unknown_numbers.add("01055501234")

    send(django_capture_on_commit_callbacks)

    row = SMSDelivery.objects.get()
    assert row.status == DeliveryStatus.REFUSED
    assert row.error_code == fake_solapi.UNKNOWN_NUMBER_CODE
    assert (row.attempts, solapi.requests, retry_delays) == (1, 1, [])
    assert row.cost == 0


def test_rate_limited_texts_are_retried_with_exponential_backoff(
    solapi, django_capture_on_commit_callbacks, retry_delays
):
    """Provider: answers 429 twice, then accepts. Promise: retried after 2-2.5 s, then 4-5 s
    (base 2 s doubling, up to 25% jitter, never under the Retry-After of 1 s); accepted on the
    third attempt."""
    solapi.script = ["rate_limited", "rate_limited"]

    send(django_capture_on_commit_callbacks)

    assert solapi.requests == 3 and len(solapi.sent) == 1
    assert len(retry_delays) == 2
    assert 2.0 <= retry_delays[0] <= 2.5
    assert 4.0 <= retry_delays[1] <= 5.0
    row = SMSDelivery.objects.get()
    assert (row.status, row.attempts, row.error_code) == (DeliveryStatus.DELIVERED, 3, "")


def test_the_providers_retry_after_is_honoured(settings):
    settings.SMS_RETRY_BASE_SECONDS = 1.0
    assert sms_queue.retry_delay(retries=0, retry_after=30.0) == 30.0
    settings.SMS_RETRY_CAP_SECONDS = 10.0
    assert 10.0 <= sms_queue.retry_delay(retries=9) <= 12.5  # capped, then jittered


def test_an_outage_is_retried_then_given_up(
    solapi, django_capture_on_commit_callbacks, retry_delays, settings, caplog
):
    """Provider: down (503) for good. Promise: SMS_RETRY_MAX retries with growing delays, then
    given up, recorded with the provider's code and an ERROR line for the operators."""
    settings.SMS_RETRY_MAX = 3
    solapi.script = ["outage"] * 10

    with caplog.at_level(logging.ERROR, logger="accounts.sms_queue"):
        send(django_capture_on_commit_callbacks)

    assert solapi.requests == 4
    assert retry_delays == sorted(retry_delays) and len(retry_delays) == 3
    row = SMSDelivery.objects.get()
    assert (row.status, row.attempts, row.error_code) == (
        DeliveryStatus.GAVE_UP,
        4,
        "InternalError",
    )
    assert "sms given up after 4 attempts" in caplog.text


def test_a_refused_connection_is_retried_then_given_up(
    solapi, django_capture_on_commit_callbacks, retry_delays, settings
):
    """Provider: unreachable (nothing listens). Promise: retried, then given up."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.SMS_API_URL = f"http://127.0.0.1:{closed_port}"
    settings.SMS_RETRY_MAX = 2

    send(django_capture_on_commit_callbacks)

    row = SMSDelivery.objects.get()
    assert (row.status, row.attempts, row.error_code) == (
        DeliveryStatus.GAVE_UP,
        3,
        "ConnectError",
    )
    assert len(retry_delays) == 2


def test_retries_stop_when_the_code_would_have_expired(
    solapi, django_capture_on_commit_callbacks, retry_delays, settings
):
    """Citizen: would get a code that no longer works. Promise: no retry is scheduled past
    SMS_DELIVERY_DEADLINE_SECONDS (here 3 s: the second retry, 4-5 s later, is not)."""
    settings.SMS_DELIVERY_DEADLINE_SECONDS = 3
    solapi.script = ["outage"] * 10

    send(django_capture_on_commit_callbacks)

    assert solapi.requests == 2 and len(retry_delays) == 1
    assert SMSDelivery.objects.get().status == DeliveryStatus.GAVE_UP


def test_wrong_credentials_are_refused_with_an_alert_and_not_retried(
    solapi, django_capture_on_commit_callbacks, retry_delays, settings, caplog
):
    """Operator: a rotated API secret not yet deployed. Promise: SOLAPI refuses the signature,
    the text is recorded refused with its code, a CRITICAL line says so; no retry storm."""
    settings.SMS_API_SECRET = "not-the-secret"

    with caplog.at_level(logging.CRITICAL, logger="accounts.sms_queue"):
        send(django_capture_on_commit_callbacks)

    assert solapi.auth_refusals == ["SignatureDoesNotMatch"]
    row = SMSDelivery.objects.get()
    assert (row.status, row.error_code) == (DeliveryStatus.REFUSED, "SignatureDoesNotMatch")
    assert retry_delays == []
    assert "SignatureDoesNotMatch" in caplog.text


def test_every_request_is_signed_anew(solapi, django_capture_on_commit_callbacks):
    """SOLAPI refuses a signature used twice: two texts, two signatures, both accepted."""
    send(django_capture_on_commit_callbacks)
    send(django_capture_on_commit_callbacks, to="+821055505678")

    assert solapi.auth_refusals == [] and len(solapi.sent) == 2


def test_a_redelivered_task_does_not_send_twice(solapi, django_capture_on_commit_callbacks):
    """Worker: dies after sending, before acknowledging; the broker hands the task out again.
    Promise: the row is final, so the second run sends nothing."""
    seen: list[tuple] = []

    def record(sender=None, args=None, **kwargs):
        if sender.name == "accounts.tasks.deliver_sms":
            seen.append(tuple(args))

    task_postrun.connect(record, weak=False)
    try:
        send(django_capture_on_commit_callbacks)
    finally:
        task_postrun.disconnect(record)

    assert deliver_sms.apply(args=seen[0]).get() == DeliveryStatus.DELIVERED

    assert solapi.requests == 1 and solapi.list_requests == 1


def test_the_broker_never_holds_the_number_or_the_text(solapi, django_capture_on_commit_callbacks):
    """Attacker: reads Redis (the broker). Promise: the task's arguments are the row's id and
    a sealed token: neither the number nor the code is in them."""
    seen: list[tuple] = []

    def record(sender=None, args=None, **kwargs):
        if sender.name == "accounts.tasks.deliver_sms":
            seen.append(tuple(args))

    task_postrun.connect(record, weak=False)
    try:
        send(django_capture_on_commit_callbacks)
    finally:
        task_postrun.disconnect(record)

    flat = repr(seen)
    assert not _leaks(flat)
    assert sms_queue.unseal(seen[0][1]) == (PHONE, CODE_TEXT)


def test_logs_name_no_number_and_no_text(
    solapi, django_capture_on_commit_callbacks, caplog, settings
):
    """Privacy: the delivery path's logs, at every level, in success, refusal and retry."""
    assert _leaks(PHONE) and _leaks(CODE_TEXT) and _leaks("010-5550-9999")  # the check can fail
    solapi.script = ["rate_limited", "outage"]
    solapi.unknown_numbers.add("01055509999")

    with caplog.at_level(logging.DEBUG):
        send(django_capture_on_commit_callbacks)
        send(django_capture_on_commit_callbacks, to="+821055509999")

    assert caplog.records  # the retries and the refusal were logged
    assert not _leaks(caplog.text)


def test_totals_count_texts_by_outcome_with_their_cost(solapi, django_capture_on_commit_callbacks):
    """Operator or the metrics endpoint: what was sent, refused, given up, and what it cost."""
    solapi.unknown_numbers.add("01055509999")
    send(django_capture_on_commit_callbacks)
    send(django_capture_on_commit_callbacks, text=LONG_TEXT)
    send(django_capture_on_commit_callbacks, to="+821055509999")

    totals = sms_delivery_totals()

    assert totals["by_status"][DeliveryStatus.DELIVERED] == 2
    assert totals["by_status"][DeliveryStatus.REFUSED] == 1
    assert totals["by_status"][DeliveryStatus.GAVE_UP] == 0
    assert totals["cost"] == Decimal(fake_solapi.LMS_PRICE + fake_solapi.SMS_PRICE)
    assert totals["attempts"] == 3


def test_a_carriers_failure_is_recorded_as_undelivered(solapi, django_capture_on_commit_callbacks):
    """Carrier: the phone is not reachable; SOLAPI reports its code. Promise: the row says
    undelivered, with that code, and keeps what the text cost."""
    solapi.report_code = fake_solapi.CARRIER_FAILURE_CODE

    send(django_capture_on_commit_callbacks)

    row = SMSDelivery.objects.get()
    assert (row.status, row.error_code) == (
        DeliveryStatus.UNDELIVERED,
        fake_solapi.CARRIER_FAILURE_CODE,
    )
    assert row.cost == Decimal(fake_solapi.SMS_PRICE)


def test_a_text_still_on_its_way_is_asked_about_a_bounded_number_of_times(
    solapi, django_capture_on_commit_callbacks, retry_delays
):
    """Carrier: never reports (phone off for days). Promise: SOLAPI is asked at the scheduled
    checks only, then the row stays accepted."""
    solapi.report_code = "3000"  # handed to the carrier, no verdict yet

    send(django_capture_on_commit_callbacks)

    assert solapi.list_requests == len(sms_queue.REPORT_CHECKS)
    assert retry_delays == list(sms_queue.REPORT_CHECKS[1:])
    assert SMSDelivery.objects.get().status == DeliveryStatus.ACCEPTED


def test_a_backend_without_credentials_refuses_to_start(settings):
    settings.SMS_BACKEND = "accounts.sms_providers.solapi.SolapiSMSBackend"
    settings.SMS_API_KEY = ""

    with pytest.raises(ImproperlyConfigured, match="SMS_API_KEY"):
        sms.get_backend()


def test_signup_code_reaches_the_provider_and_verifies(solapi, django_capture_on_commit_callbacks):
    """Citizen: signs up in the app with SOLAPI configured. Promise: the answers are the ones
    the app knows (401 with a pending phone verification, then 200), and the code SOLAPI was
    given verifies the number."""
    client = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, SIGNUP, {"phone": PHONE})
    assert response.status_code == 401, response.content
    token = response.json()["meta"]["session_token"]

    assert len(solapi.sent) == 1 and solapi.sent[0]["to"] == "01055501234"
    code = code_in(solapi.sent[0]["text"])
    assert code

    response = post(client, VERIFY_PHONE, {"code": code}, token)
    assert response.status_code == 200, response.content
    assert SMSDelivery.objects.get().status == DeliveryStatus.DELIVERED


def test_officials_read_deliveries_but_cannot_change_them(
    solapi, django_capture_on_commit_callbacks, client
):
    """Operator: reads the texts' outcomes and costs in the admin. Promise: a read-only list
    (the record of what the city paid for), showing no number; no adding, editing, deleting."""
    from tests.factories import OfficialFactory

    send(django_capture_on_commit_callbacks)
    row = SMSDelivery.objects.get()
    client.force_login(OfficialFactory(perms=["accounts.view_smsdelivery"]))

    page = client.get("/admin/accounts/smsdelivery/")
    assert page.status_code == 200
    assert row.provider_message_id in page.content.decode()
    assert "5550" not in page.content.decode()
    assert client.get("/admin/accounts/smsdelivery/add/").status_code == 403
    assert client.post(f"/admin/accounts/smsdelivery/{row.pk}/delete/").status_code == 403
    detail = client.post(f"/admin/accounts/smsdelivery/{row.pk}/change/", {"status": "queued"})
    assert detail.status_code in (200, 403)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DELIVERED


def test_production_refuses_to_start_with_a_provider_but_no_credentials(tmp_path):
    """Operator: deploys SMS_BACKEND=SOLAPI and forgets the sender number. Promise: the server
    does not start, and says in one line what is missing (not a failure at the first text)."""
    import subprocess
    import sys

    from tests.config.production_env import ROOT, production_env

    env = production_env(
        tmp_path,
        SMS_BACKEND="accounts.sms_providers.solapi.SolapiSMSBackend",
        SMS_API_KEY="key",
        SMS_API_SECRET="secret",
        SMS_SENDER_NUMBER="",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert started.returncode != 0
    assert "SMS_BACKEND needs SMS_SENDER_NUMBER" in started.stderr
