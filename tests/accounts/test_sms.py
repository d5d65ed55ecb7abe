import logging

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from accounts import sms
from core.phone import normalize_phone

CONSOLE_LOGGER = "accounts.sms.console"


@pytest.fixture
def console_records(caplog):
    """Records of the console SMS logger, which does not propagate to the root (see LOGGING)."""
    logger = logging.getLogger(CONSOLE_LOGGER)
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger=CONSOLE_LOGGER)
    yield caplog
    logger.removeHandler(caplog.handler)


class FailingSMSBackend(sms.BaseSMSBackend):
    def send_messages(self, messages):
        if self.fail_silently:
            return 0
        raise sms.SMSError("provider down")


def test_console_backend_writes_one_line_with_phone_and_text(settings, console_records):
    settings.SMS_BACKEND = "accounts.sms.ConsoleSMSBackend"

    sent = sms.send_sms("+821012345678", "[서울시 엠보팅] 인증번호 123456\n(5분 안에 입력하세요)")

    assert sent == 1
    [record] = [r for r in console_records.records if r.name == CONSOLE_LOGGER]
    line = record.getMessage()
    assert "\n" not in line
    assert line.startswith("to=+821012345678 body=[서울시 엠보팅] 인증번호 123456")
    assert "5분 안에 입력하세요" in line
    assert sms.outbox == []


def test_in_memory_backend_keeps_messages_in_outbox():
    sms.send_sms("+821012345678", "first")
    sms.send_sms("+821099998888", "second")

    assert sms.outbox == [
        sms.SMSMessage(to="+821012345678", body="first"),
        sms.SMSMessage(to="+821099998888", body="second"),
    ]


def test_backend_is_read_from_settings_at_call_time(settings, console_records):
    settings.SMS_BACKEND = "accounts.sms.ConsoleSMSBackend"
    sms.send_sms("+821012345678", "to the console")
    settings.SMS_BACKEND = "accounts.sms.InMemorySMSBackend"
    sms.send_sms("+821012345678", "to the outbox")

    assert [m.body for m in sms.outbox] == ["to the outbox"]
    assert len([r for r in console_records.records if r.name == CONSOLE_LOGGER]) == 1


def test_get_backend_by_path_and_fail_silently():
    backend = sms.get_backend("tests.accounts.test_sms.FailingSMSBackend", fail_silently=True)

    assert isinstance(backend, FailingSMSBackend)
    assert backend.send_messages([sms.SMSMessage("+821012345678", "x")]) == 0
    with pytest.raises(sms.SMSError):
        sms.get_backend("tests.accounts.test_sms.FailingSMSBackend").send_messages(
            [sms.SMSMessage("+821012345678", "x")]
        )


def test_base_backend_must_be_subclassed():
    with pytest.raises(NotImplementedError):
        sms.BaseSMSBackend().send_messages([sms.SMSMessage("+821012345678", "x")])


@pytest.mark.django_db
def test_provider_failure_does_not_change_the_reply(settings):
    # Failing only for registered numbers (the only ones sent a code) would reveal them.
    settings.SMS_BACKEND = "tests.accounts.test_sms.FailingSMSBackend"

    response = APIClient().post(
        "/_allauth/app/v1/auth/code/request", {"phone": "+821012345678"}, format="json"
    )

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+821012345678", "+821012345678"),
        ("010-1234-5678", "+821012345678"),
        ("01012345678", "+821012345678"),
        ("010 1234 5678", "+821012345678"),
        ("+1 650-253-0000", "+16502530000"),
    ],
)
def test_normalize_phone(typed, e164):
    assert normalize_phone(typed) == e164


@pytest.mark.parametrize("typed", ["", "abc", "1234", "02-123-4567", "+82101234567890"])
def test_normalize_phone_refuses(typed):
    with pytest.raises(ValidationError):
        normalize_phone(typed)
