import re

import pytest
from django.test import Client

from accounts import sms
from tests.factories import CitizenFactory, OfficialFactory, PollFactory


@pytest.fixture
def operator(db):
    return OfficialFactory(role="operator")


@pytest.fixture
def operator_client(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def poll(db):
    return PollFactory(title="한강 야간 개방 확대", options=["찬성", "반대"])


@pytest.fixture
def caller(db):
    return CitizenFactory(phone="+821055551234", display_name="김영희")


def texted_code() -> str:
    """The code of the last text message sent (the InMemorySMSBackend's outbox)."""
    assert sms.outbox, "no text message was sent"
    match = re.search(r"\b(\d{6})\b", sms.outbox[-1].body)
    assert match, sms.outbox[-1].body
    return match.group(1)


def identify_by_sms(client: Client, *, poll_id: int, phone: str = "010-5555-1234") -> int:
    """The operator sends the code and types what the caller reads: the identification's id."""
    response = client.post(f"/assist/polls/{poll_id}/sms/", {"phone": phone})
    assert response.status_code == 302, response.content.decode()[:2000]
    identification_id = int(response["Location"].strip("/").split("/")[-2])
    response = client.post(f"/assist/calls/{identification_id}/code/", {"code": texted_code()})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == f"/assist/calls/{identification_id}/ballot/"
    return identification_id
