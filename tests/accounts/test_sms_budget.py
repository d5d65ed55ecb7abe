"""The SMS budget's rules (accounts/sms_budget.py): day windows, addresses, the global hourly
budget and its alert, and what Redis holds. The hour-long attacks through the endpoints are in
tests/security/test_sms_abuse.py; Redis down is tests/accounts/test_auth_redis_down.py.

Counters are real: the test cache (local memory, or Redis with REDIS_URL), time moved by the
test's clock only (``window_clock``, tests/conftest.py).
"""

import hashlib
import logging
import re
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIClient

from accounts import sms, sms_budget
from tests.accounts.test_auth_flows import (
    BASE,
    CODE_REQUEST,
    VERIFY_PHONE,
    last_code,
    post,
    sign_up,
    texts_to,
)

pytestmark = pytest.mark.django_db

VICTIM = "+821012345678"
PHONE_BOOK = f"{BASE}/account/phone"


def _refusal(**kwargs) -> sms_budget.SMSBudgetRefused | None:
    try:
        sms_budget.charge(**kwargs)
    except sms_budget.SMSBudgetRefused as refusal:
        return refusal
    return None


def test_a_number_gets_at_most_ten_texts_a_day(window_clock):
    """Attacker: someone who texts a victim 5 times in every hour, the most the hourly limit
    allows. Promise: after 10 in a day the number gets no more until the day ends, whatever
    addresses ask."""
    sent = 0
    for hour in range(4):
        for n in range(6):
            if _refusal(phone=VICTIM, ip=f"198.51.100.{hour * 10 + n}") is None:
                sent += 1
        window_clock.advance(3600)

    assert sent == 10
    refusal = _refusal(phone=VICTIM, ip="198.51.100.200")
    assert refusal is not None and refusal.scope == "number" and refusal.status == 429
    # Told to come back when the day's window ends (the clock is at 05:00 UTC).
    assert refusal.retry_after == 19 * 3600


def test_an_address_gets_at_most_a_hundred_texts_a_day(window_clock):
    """Attacker: one address texting a new number every time, 30 an hour (its hourly limit)
    around the clock. Promise: 100 a day, then nothing until the day ends."""
    numbers = iter(f"+82105555{n:04d}" for n in range(10_000))
    sent = 0
    for _hour in range(5):
        for _ in range(31):
            if _refusal(phone=next(numbers), ip="203.0.113.9") is None:
                sent += 1
        window_clock.advance(3600)

    assert sent == 100
    refusal = _refusal(phone=next(numbers), ip="203.0.113.9")
    assert refusal is not None and refusal.scope == "ip"


def test_ipv6_addresses_are_counted_per_64_prefix(window_clock):
    """Attacker: a host with a /64 of its own, taking a new IPv6 address for every request.
    Promise: its whole prefix is one address for the budget; a neighbour's prefix is not."""
    numbers = iter(f"+82105555{n:04d}" for n in range(10_000))
    refusals = [_refusal(phone=next(numbers), ip=f"2001:db8:1:2::{n:x}") for n in range(1, 32)]

    assert [r is None for r in refusals] == [True] * 30 + [False]
    assert _refusal(phone=next(numbers), ip="2001:db8:1:3::1") is None


def test_refused_attempts_do_not_spend_the_global_budget(window_clock, settings):
    """Attacker: someone hammering one number long after its limit, to use up the city's
    hourly budget with texts that are never sent. Promise: refused attempts are taken back
    out of every counter; the city's other citizens still get their codes."""
    settings.SMS_BUDGET_GLOBAL_HOURLY = 10
    for n in range(50):
        _refusal(phone=VICTIM, ip=f"198.51.100.{n}")

    others = [_refusal(phone=f"+82105555{n:04d}", ip=f"203.0.113.{n}") for n in range(5)]

    assert others == [None] * 5


def test_the_global_budget_stops_texts_and_alerts_once_an_hour(window_clock, settings, caplog):
    """Attacker: a botnet, one address and one number per request, under every per-number and
    per-address limit. Promise: when the hour's budget is spent, code requests answer 503 with
    Retry-After (until the hour ends) and send nothing; the operators get one CRITICAL line and
    one signal per hour, naming no number; the next hour texts again."""
    settings.SMS_BUDGET_GLOBAL_HOURLY = 3
    alerts = []

    def pager(**kwargs):
        alerts.append(kwargs)

    sms_budget.budget_exhausted.connect(pager)
    try:
        with caplog.at_level(logging.INFO, logger="accounts.sms_budget"):
            responses = [
                post(APIClient(REMOTE_ADDR=f"198.51.100.{n}"), CODE_REQUEST, {"phone": phone})
                for n, phone in enumerate(f"+82105555{n:04d}" for n in range(6))
            ]
    finally:
        sms_budget.budget_exhausted.disconnect(pager)

    assert [r.status_code for r in responses] == [401] * 3 + [503] * 3
    refused = responses[3]
    # The one error shape under /_allauth/ (accounts/headless_errors.py): the API's keys and
    # allauth's, and nothing else.
    detail = refused.json()["detail"]
    assert refused.json() == {
        "code": "service_unavailable",
        "detail": detail,
        "status": 503,
        "errors": [{"code": "service_unavailable", "message": detail}],
    }
    assert int(refused["Retry-After"]) == 3600  # the clock is half a second into the hour
    assert len(sms.outbox) == 3
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1
    assert critical[0].getMessage().startswith("sms_budget_exhausted")
    assert not re.search(r"\d{8}", critical[0].getMessage())
    assert len(alerts) == 1

    window_clock.advance(3600)
    response = post(APIClient(REMOTE_ADDR="198.51.100.99"), CODE_REQUEST, {"phone": VICTIM})
    assert response.status_code == 401
    assert len(texts_to(VICTIM)) == 1


def _stored_keys() -> list[str]:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client()
        return [key.decode() for key in client.scan_iter(f"{backend.key_prefix}*")]
    return list(backend._cache.keys())


@pytest.mark.parametrize("registered", [True, False], ids=["registered", "unregistered"])
def test_no_number_or_address_is_readable_in_the_cache(settings, registered):
    """Attacker: a database reader with Redis (a backup, a shared instance, `MONITOR`).
    Promise: after code requests, no key holds a phone number, an unkeyed hash of one (allauth
    names its per-number limits with SHA-256 of the number: 10^8 Korean mobile numbers are
    hashed in seconds) or the client's address; the SMS budget's keys and allauth's are HMACs."""
    if registered:
        from tests.factories import CitizenFactory

        CitizenFactory(phone=VICTIM)
    address = "198.51.100.77"
    post(APIClient(REMOTE_ADDR=address), CODE_REQUEST, {"phone": VICTIM})

    keys = _stored_keys()

    assert any("sms-budget" in key for key in keys)
    assert any("allauth:rl:" in key for key in keys)
    national = VICTIM.removeprefix("+82")
    forbidden = [
        VICTIM,
        national,
        "0" + national,
        hashlib.sha256(VICTIM.encode()).hexdigest(),
        address,
    ]
    for key in keys:
        assert not any(value in key for value in forbidden), key


@pytest.mark.redis
def test_the_budget_lives_in_redis_and_expires(window_clock):
    """The counters are Redis keys every web process shares (a second connection, as another
    gunicorn worker has, reads the same counts), and each expires with its window: nothing
    about a number outlives the day."""
    for n in range(5):
        sms_budget.charge(phone=VICTIM, ip=f"198.51.100.{n}")
    backend = caches["default"]
    other = redis.Redis.from_url(settings.REDIS_URL)
    keys = [key for key in other.scan_iter(f"{backend.key_prefix}*") if b"sms-budget" in key]

    # Per number: hour and day; per address: five addresses, hour and day each; global: hour.
    assert len(keys) == 2 + 10 + 1
    assert sorted(int(other.get(key)) for key in keys) == [1] * 10 + [5] * 3
    assert all(0 < other.ttl(key) <= 86400 for key in keys)
    refusal = _refusal(phone=VICTIM, ip="198.51.100.50")
    assert refusal is not None and refusal.scope == "number"


def test_the_change_notice_reaches_an_old_number_whose_budget_was_spent(
    settings,
    django_capture_on_commit_callbacks,
):
    """Attacker: a thief with a stolen session who first spends the victim's number's budget
    (five code requests), then moves the account to their own SIM, so the "your number was
    changed" text would be refused. Promise: the notice to the old number goes out anyway (it
    follows a metered code to the new number, one per verified change)."""
    settings.ACCOUNT_RATE_LIMITS = False  # the budget alone decides
    old, new = "+821055502222", "+821055503333"
    client = APIClient()
    token = sign_up(client, old)
    for n in range(6):
        post(APIClient(REMOTE_ADDR=f"198.51.100.{n}"), CODE_REQUEST, {"phone": old})
    assert len(texts_to(old)) == 5  # sign-up code, four login codes: spent
    sms.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, PHONE_BOOK, {"phone": new}, token).status_code == 202
        response = post(client, VERIFY_PHONE, {"code": last_code(new)}, token)

    assert response.status_code == 200, response.content
    assert len(texts_to(old)) == 1


def test_every_text_goes_through_the_budget():
    """Developer: adds a feature that texts citizens. Promise (kept by this test): the only
    caller of the SMS backend is the adapter's budgeted ``_send_sms``, so no text can skip the
    budget."""
    root = Path(__file__).resolve().parents[2]
    packages = [d for d in root.iterdir() if (d / "__init__.py").exists() and d.name != "tests"]
    # Backends import the interface (BaseSMSBackend) from accounts.sms: only sending counts.
    uses = re.compile(
        r"\bsend_sms\(|from accounts\.sms import[^\n]*\b(send_sms|get_backend)\b"
        r"|from accounts import sms\b|\bsms_queue\.enqueue\("
    )
    callers = sorted(
        str(path.relative_to(root))
        for package in packages
        for path in package.rglob("*.py")
        if uses.search(path.read_text())
    )

    assert callers == [
        "accounts/adapter.py",
        "accounts/sms.py",
        "accounts/sms_providers/solapi.py",
        "assisted/services.py",  # the call centre's codes: charged to the same budget first
    ]
    assisted = (root / "assisted" / "services.py").read_text()
    assert assisted.index("sms_budget.charge(") < assisted.index("send_sms(phone")
