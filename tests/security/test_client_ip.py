"""Client addresses (core/client_ip.py): taken only through the proxies we run.

Behind the shipped nginx (``TRUSTED_PROXY_COUNT=1``) every request reaches the app from the
proxy's address, with the client's appended to X-Forwarded-For. Before: allauth read the proxy's
address (all citizens shared one rate-limit bucket: 5 sign-ups an hour for the whole city) while
the ballot throttle believed any X-Forwarded-For a client sent (a new bucket per request).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.test import RequestFactory
from rest_framework.test import APIClient

from accounts import sms
from core.client_ip import client_ip
from tests.accounts.test_auth_flows import CODE_REQUEST, SIGNUP, post
from tests.factories import CitizenFactory, PollFactory

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # nginx, as the app sees it


@pytest.fixture
def behind_nginx(settings):
    # The operator's one setting; allauth and the throttles follow it (no setting of theirs).
    settings.TRUSTED_PROXY_COUNT = 1


def test_one_setting_configures_allauth_and_drf_alike():
    """Operator: sets TRUSTED_PROXY_COUNT once (docker-compose: 1 for web). Promise: allauth's
    and DRF's own settings say the same, for any code of theirs that reads the header."""
    code = (
        "from config import settings as s; "
        "print(s.TRUSTED_PROXY_COUNT, s.ALLAUTH_TRUSTED_PROXY_COUNT, "
        "s.REST_FRAMEWORK['NUM_PROXIES'])"
    )
    env = {**os.environ, "TRUSTED_PROXY_COUNT": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )

    assert result.stdout.split() == ["1", "1", "1"]


def _request(remote: str, forwarded: str | None = None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


@pytest.mark.parametrize(
    ("count", "remote", "forwarded", "expected"),
    [
        # No proxy configured: the header is the client's own claim, ignored.
        (0, "198.51.100.7", "1.2.3.4", "198.51.100.7"),
        # One proxy: the entry it appended; whatever the client wrote before it is ignored.
        (1, PROXY, "198.51.100.7", "198.51.100.7"),
        (1, PROXY, "1.2.3.4, 5.6.7.8, 198.51.100.7", "198.51.100.7"),
        (1, PROXY, "  1.2.3.4 ,198.51.100.7 ", "198.51.100.7"),
        # Two proxies (a CDN, then nginx): the CDN's entry.
        (2, PROXY, "1.2.3.4, 198.51.100.7, 172.16.0.9", "198.51.100.7"),
        # Fewer entries than proxies (the outer one was skipped): the leftmost, never a 500.
        (2, PROXY, "198.51.100.7", "198.51.100.7"),
        # No header, an empty one, or garbage where the proxy's entry should be: REMOTE_ADDR.
        (1, PROXY, None, PROXY),
        (1, PROXY, "", PROXY),
        (1, PROXY, "1.2.3.4, not-an-address", PROXY),
        (1, PROXY, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_one_rule(settings, count, remote, forwarded, expected):
    """Attacker: a client writing its own X-Forwarded-For. Promise: only the entries our
    proxies appended count; with no proxy configured, none do."""
    settings.TRUSTED_PROXY_COUNT = count

    assert client_ip(_request(remote, forwarded)) == expected


def test_a_spoofed_prefix_does_not_escape_allauths_per_address_limit(behind_nginx):
    """Attacker: a script behind nginx asking for login codes for a list of numbers, writing a
    new X-Forwarded-For prefix on every request to look like another client. Promise: it stays
    in its own bucket (10 code requests a minute), as allauth and the SMS budget see it."""
    statuses = [
        post(
            APIClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"10.9.{n}.1, 198.51.100.7"),
            CODE_REQUEST,
            {"phone": f"+8210555500{n:02d}"},
        ).status_code
        for n in range(11)
    ]

    assert statuses == [401] * 10 + [429]
    assert len(sms.outbox) == 10


def test_two_citizens_behind_the_proxy_have_separate_buckets(behind_nginx):
    """Citizens: two people signing up behind the same nginx. Before: one bucket for the whole
    city (the proxy's address), so one busy client locked out everyone. Promise: the second
    client's sign-ups are untouched by the first's."""
    first = [
        post(
            APIClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7"),
            SIGNUP,
            {"phone": f"+8210555500{n:02d}"},
        ).status_code
        for n in range(6)
    ]
    second = post(
        APIClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.8"),
        SIGNUP,
        {"phone": "+821055550099"},
    )

    assert first == [401] * 5 + [429]  # "verify_phone": 5 sign-up texts a minute per address
    assert second.status_code == 401


def test_allauth_never_answers_500_on_a_short_forwarded_header(settings):
    """Attacker: a request reaching the app with fewer X-Forwarded-For entries than configured
    proxies (allauth's own reader raises ImproperlyConfigured: a 500). Promise: an ordinary
    answer."""
    settings.TRUSTED_PROXY_COUNT = settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2

    response = post(
        APIClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7"),
        CODE_REQUEST,
        {"phone": "+821055550001"},
    )

    assert response.status_code == 401


def _ballot(client_for, poll, remote: str, forwarded: str | None = None):
    client = client_for(CitizenFactory())
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(
        f"/api/v1/polls/{poll.pk}/ballots/",
        {"options": [poll.options.first().pk]},
        format="json",
        **headers,
    )


def test_the_ballot_throttle_ignores_a_spoofed_forwarded_header(settings, client_for):
    """Attacker: one machine, no proxy in front, casting ballots for many accounts and sending
    a new X-Forwarded-For each time to escape the per-address limit. Before: DRF believed the
    header (a fresh bucket per ballot). Promise: the address is REMOTE_ADDR; the third ballot
    within the minute is refused."""
    settings.BALLOT_THROTTLE_IP = "2/min"
    poll = PollFactory()

    statuses = [
        _ballot(client_for, poll, "198.51.100.7", f"10.9.{n}.1").status_code for n in range(3)
    ]

    assert statuses == [201, 201, 429]


def test_the_ballot_throttle_separates_citizens_behind_the_proxy(
    settings, behind_nginx, client_for
):
    """Citizens behind nginx: one address's spent limit does not refuse another's ballot, and
    a spoofed prefix does not move the first back under its limit."""
    settings.BALLOT_THROTTLE_IP = "2/min"
    poll = PollFactory()

    first = [
        _ballot(client_for, poll, PROXY, f"10.9.{n}.1, 198.51.100.7").status_code for n in range(3)
    ]
    second = _ballot(client_for, poll, PROXY, "198.51.100.8")

    assert first == [201, 201, 429]
    assert second.status_code == 201


def test_the_shipped_proxy_and_compose_file_agree_with_the_rule():
    """Operator: deploys the shipped docker-compose.yml. Promise: nginx appends the address it
    saw to X-Forwarded-For and sets X-Real-IP on every route; `web` trusts exactly that one
    proxy; daphne (`ws`) reads X-Real-IP, not the client-written leftmost X-Forwarded-For."""
    root = Path(__file__).resolve().parents[2]
    nginx = (root / "deploy" / "nginx.conf").read_text()
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())

    locations = re.findall(r"location [^{]+\{([^}]*)\}", nginx)
    assert len(locations) == 2
    for block in locations:
        assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in block
        assert "proxy_set_header X-Real-IP $remote_addr;" in block
        assert "proxy_set_header Host $host;" in block
    assert compose["services"]["web"]["environment"]["TRUSTED_PROXY_COUNT"] == "1"
    ws = compose["services"]["ws"]
    assert ws["command"][ws["command"].index("--proxy-headers-host") + 1] == "X-Real-IP"
    assert str(ws["environment"].get("TRUSTED_PROXY_COUNT", "0")) == "0"
