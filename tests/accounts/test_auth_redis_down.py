"""Redis down on the authentication endpoints: a 503 the app can retry on, and no text unmetered.

allauth keeps its rate limits in the cache, and so does the SMS budget. Before: with Redis
unreachable, sign-up and code login answered raw 500s. Redis is made unreachable for real, as in
tests/voting/test_redis_down.py: the cache points at a port nothing listens on.
"""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from accounts import sms
from tests.accounts.test_auth_flows import (
    CODE_CONFIRM,
    CODE_REQUEST,
    SESSION,
    SIGNUP,
    VERIFY_PHONE,
    last_code,
    post,
)
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"
PHONE = "+821012345678"


@pytest.fixture
def take_redis_down(settings):
    """Call it to make the cache unreachable from that moment on."""

    def down() -> None:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": DEAD_REDIS,
                "KEY_FUNCTION": "core.cache_keys.make_key",
            }
        }

    return down


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.content
    detail = response.json()["detail"]
    # The one error shape under /_allauth/ (accounts/headless_errors.py), and nothing else.
    assert response.json() == {
        "code": "service_unavailable",
        "detail": detail,
        "status": 503,
        "errors": [{"code": "service_unavailable", "message": detail}],
    }
    assert response.json()["detail"]
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize("registered", [True, False], ids=["registered", "unregistered"])
def test_code_login_request_answers_503_and_texts_nothing(take_redis_down, registered):
    """Citizen: asks for a login code while Redis is down. Before: a 500. Promise: a 503 JSON
    error with Retry-After, the same for registered and unregistered numbers, and no text."""
    if registered:
        CitizenFactory(phone=PHONE)
    take_redis_down()

    response = post(APIClient(), CODE_REQUEST, {"phone": PHONE})

    assert_unavailable(response)
    assert sms.outbox == []


@pytest.mark.parametrize("registered", [True, False], ids=["registered", "unregistered"])
def test_signup_answers_503_creates_nothing_and_texts_nothing(take_redis_down, registered):
    """Citizen: signs up while Redis is down. Before: a 500. Promise: a 503 with Retry-After,
    no new account, no text."""
    if registered:
        CitizenFactory(phone=PHONE)
    take_redis_down()

    response = post(APIClient(), SIGNUP, {"phone": PHONE})

    assert_unavailable(response)
    assert get_user_model().objects.filter(phone=PHONE).count() == int(registered)
    assert sms.outbox == []


def test_no_text_goes_out_unmetered_even_without_allauths_limits(take_redis_down, settings):
    """Operator: turned allauth's rate limits off (ACCOUNT_RATE_LIMITS = False). Promise: the
    SMS budget still cannot be checked with Redis down, so it refuses (fail closed): 503, and
    nothing is sent, on sign-up and on code login."""
    settings.ACCOUNT_RATE_LIMITS = False
    CitizenFactory(phone="+821099998888")
    take_redis_down()

    signup = post(APIClient(), SIGNUP, {"phone": PHONE})
    login = post(APIClient(), CODE_REQUEST, {"phone": "+821099998888"})

    assert_unavailable(signup)
    assert_unavailable(login)
    assert sms.outbox == []
    assert not get_user_model().objects.filter(phone=PHONE).exists()


def test_a_code_texted_before_redis_went_down_still_logs_in(take_redis_down):
    """Citizen: got a code before Redis went down and types it after. Promise: confirming needs
    no Redis (flows live in the session, in the database): the right code logs in, a wrong one
    is an ordinary 400, never a 500."""
    CitizenFactory(phone=PHONE)
    client = APIClient()
    token = post(client, CODE_REQUEST, {"phone": PHONE}).json()["meta"]["session_token"]
    code = last_code(PHONE)
    other = APIClient(REMOTE_ADDR="198.51.100.9")
    other_token = post(other, CODE_REQUEST, {"phone": PHONE}).json()["meta"]["session_token"]
    take_redis_down()

    wrong = post(
        other, CODE_CONFIRM, {"code": "000000" if code != "000000" else "111111"}, other_token
    )
    right = post(client, CODE_CONFIRM, {"code": code}, token)

    assert wrong.status_code == 400, wrong.content
    assert right.status_code == 200, right.content


def test_session_and_phone_verification_work_without_redis(take_redis_down):
    """Citizen: checks the session, and verifies a sign-up code texted before Redis went down.
    Promise: neither needs Redis; both answer as usual, never a 500."""
    client = APIClient()
    signup = post(client, SIGNUP, {"phone": PHONE})
    token = signup.json()["meta"]["session_token"]
    code = last_code(PHONE)
    take_redis_down()

    session = client.get(SESSION, HTTP_X_SESSION_TOKEN=token)
    verify = post(client, VERIFY_PHONE, {"code": code}, token)

    assert session.status_code == 401  # pending phone verification, as with Redis up
    assert verify.status_code == 200, verify.content
