"""SMS abuse (OWASP API4/API6): what texts cost, and who can make the city pay for them.

Already proven in tests/accounts/test_auth_flows.py: code requests per phone (3 / 10 min) and per
IP (10 / min) answer 429, unknown numbers are limited alike and answered alike (no enumeration,
sign-up and login), 3 wrong codes end a flow, one sign-up text per number per 30 s. Here: the
whole guessing budget of an attacker who keeps asking for new codes, and the SMS budget
(accounts/sms_budget.py) against an attacker who texts for an hour: from one address down a list
of numbers (was 600 texts an hour), at one victim's number from many addresses through every
endpoint that texts (was about 140 an hour), and probing the budget to learn which numbers have
an account. The budget's own rules (day windows, the global budget, Redis) are in
tests/accounts/test_sms_budget.py.
"""

import json

import pytest
from rest_framework.test import APIClient

from accounts import sms
from tests.accounts.test_auth_flows import (
    CODE_CONFIRM,
    CODE_REQUEST,
    SIGNUP,
    last_code,
    post,
    texts_to,
)
from tests.conftest import Clock
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

CODE_RESEND = "/_allauth/app/v1/auth/code/resend"
PHONE_RESEND = "/_allauth/app/v1/auth/phone/verify/resend"

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


# --- The SMS budget, attacked for an hour ---------------------------------------------------------


def test_one_address_cannot_text_a_list_of_numbers_for_an_hour(window_clock):
    """Attacker: a script on one address asking for texts to a list of numbers, through code
    login and sign-up, each as fast as its limits allow, for an hour. Before: 10 a minute, over
    600 an hour, each paid by the city. Promise: the address's hourly SMS budget (30), however
    the requests are spread over the endpoints."""
    numbers = iter(f"+82105555{n:04d}" for n in range(10_000))
    for _minute in range(60):
        for url in (CODE_REQUEST, SIGNUP):
            for _attempt in range(11):
                response = post(APIClient(), url, {"phone": next(numbers)})
                if response.status_code == 429:
                    break
                assert response.status_code == 401, response.content
        window_clock.advance(60)

    assert len(sms.outbox) == 30


@pytest.mark.parametrize("registered", [True, False], ids=["registered", "unregistered"])
def test_one_number_cannot_be_flooded_from_many_addresses(window_clock, settings, registered):
    """Attacker: someone flooding a victim's phone for an hour, from a new address for every
    request, through every endpoint that texts: sign-up, code login, and both resends (turned
    on here, as an operator might). Before: about 140 texts an hour. Promise: the number's
    hourly budget (5), whether or not the victim has an account."""
    settings.ACCOUNT_PHONE_VERIFICATION_SUPPORTS_RESEND = True
    settings.ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND = True
    victim = "+821012345678"
    if registered:
        CitizenFactory(phone=victim)
    addresses = iter(f"198.51.{n // 250}.{n % 250 + 1}" for n in range(10_000))

    def attacker() -> APIClient:
        return APIClient(REMOTE_ADDR=next(addresses))

    statuses = set()
    for _round in range(120):  # every 30 s for an hour
        response = post(attacker(), SIGNUP, {"phone": victim})
        statuses.add(response.status_code)
        if response.status_code == 401:
            token = response.json()["meta"]["session_token"]
            statuses.add(post(attacker(), PHONE_RESEND, {}, token).status_code)
        response = post(attacker(), CODE_REQUEST, {"phone": victim})
        statuses.add(response.status_code)
        if response.status_code == 401 and registered:
            # allauth cannot resend a login code to a number without an account (it asserts).
            token = response.json()["meta"]["session_token"]
            statuses.add(post(attacker(), CODE_RESEND, {}, token).status_code)
        window_clock.advance(30)

    assert len(texts_to(victim)) == 5
    assert 500 not in statuses and 429 in statuses


def _shape(response) -> tuple:
    """What an attacker sees of an answer, minus the session token (random either way)."""
    body = json.loads(response.content) if response.content else None
    if isinstance(body, dict):
        body.get("meta", {}).pop("session_token", None)
    return response.status_code, response.headers.get("Retry-After"), body


def _probe(phone: str, window_clock: Clock) -> list[tuple]:
    """Sign up with ``phone`` and ask for resends, from fresh addresses, until long after the
    number's budget is spent; every answer recorded."""
    seen = []
    for n in range(12):
        response = post(APIClient(REMOTE_ADDR=f"203.0.113.{n + 1}"), SIGNUP, {"phone": phone})
        seen.append(_shape(response))
        if response.status_code == 401:
            token = response.json()["meta"]["session_token"]
            for _ in range(2):
                client = APIClient(REMOTE_ADDR=f"203.0.113.{n + 101}")
                seen.append(_shape(post(client, PHONE_RESEND, {}, token)))
        window_clock.advance(31)
    return seen


def test_the_budget_does_not_reveal_which_numbers_have_an_account(window_clock, settings):
    """Attacker: someone who wants to know whether a number has an account, and watches when
    the SMS budget runs out. allauth texts a registered number once at sign-up and then stays
    silent on resends (a new number gets a code each time): counting only real texts, a
    registered number's budget would last longer. Promise: the budget counts every "a text was
    sent" answer, so the answers, 429s and Retry-After included, are identical."""
    settings.ACCOUNT_PHONE_VERIFICATION_SUPPORTS_RESEND = True
    # allauth's own per-number limits would refuse first, alike: the budget is what is probed.
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "verify_phone": ""}
    CitizenFactory(phone=KNOWN)

    start = window_clock.now
    registered = _probe(KNOWN, window_clock)
    window_clock.advance(start + 3600 - window_clock.now)  # the same moment of the next hour
    unregistered = _probe(UNKNOWN, window_clock)

    assert registered == unregistered
    assert any(status == 429 for status, _retry, _body in registered)
    # The registered owner was told once that someone tried; the new number got real codes.
    assert len(texts_to(KNOWN)) < len(texts_to(UNKNOWN)) <= 5
