"""SMS abuse (OWASP API4/API6): the code-guessing budget, the same for known and unknown numbers.

Already proven in tests/accounts/test_auth_flows.py: code requests per phone (3 / 10 min) and per
IP (10 / min) answer 429, unknown numbers are limited alike and answered alike (no enumeration,
sign-up and login), 3 wrong codes end a flow, one sign-up text per number per 30 s. What is added
here: the whole guessing budget of an attacker who keeps asking for new codes.
"""

import pytest
from rest_framework.test import APIClient

from tests.accounts.test_auth_flows import CODE_CONFIRM, CODE_REQUEST, last_code, post
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

KNOWN, UNKNOWN = "+821012345678", "+821098765432"


def _guess_until_refused(phone: str) -> list[int]:
    """Ask for a code, guess wrong three times, again, until a request is refused."""
    statuses = []
    for _round in range(5):
        client = APIClient()
        response = post(client, CODE_REQUEST, {"phone": phone})
        statuses.append(response.status_code)
        if response.status_code != 401:
            break
        token = response.json()["meta"]["session_token"]
        for _ in range(3):
            statuses.append(post(client, CODE_CONFIRM, {"code": "000000"}, token).status_code)
        # The flow is over after three: even a right code would not open it.
        statuses.append(post(client, CODE_CONFIRM, {"code": "000000"}, token).status_code)
    return statuses


def test_code_guessing_budget_per_number_then_429():
    CitizenFactory(phone=KNOWN)

    statuses = _guess_until_refused(KNOWN)

    # Three codes, three guesses each: 9 guesses at a 6-digit code per 10 minutes, then 429.
    assert statuses == [401, 400, 400, 400, 409] * 3 + [429]


def test_the_last_code_is_useless_after_three_wrong_guesses():
    CitizenFactory(phone=KNOWN)
    client = APIClient()
    token = post(client, CODE_REQUEST, {"phone": KNOWN}).json()["meta"]["session_token"]
    right = last_code(KNOWN)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(3):
        post(client, CODE_CONFIRM, {"code": wrong}, token)

    response = post(client, CODE_CONFIRM, {"code": right}, token)

    assert response.status_code == 409
    assert APIClient().get("/api/v1/me/", HTTP_X_SESSION_TOKEN=token).status_code == 401


def test_guessing_an_unknown_number_looks_the_same():
    """No enumeration through the budget: an unknown number runs out exactly alike."""
    CitizenFactory(phone=KNOWN)
    assert _guess_until_refused(UNKNOWN) == _guess_until_refused(KNOWN)
