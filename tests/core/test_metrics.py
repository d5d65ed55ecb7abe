"""/metrics: who may scrape it, and that its numbers follow what really happens.

Ballots go through the real API and the counter's own code (tests/ballot_box.py); the numbers are
read back the way Prometheus reads them, by scraping /metrics and parsing the text format.
"""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from accounts import sms_budget
from accounts.sms import send_sms
from notifications.models import OutboxEvent
from tests.ballot_box import cast_many, close_and_count, count_now
from tests.factories import OfficialFactory, PollFactory
from tests.voting.test_consumers import _communicator
from voting import counting, live

pytestmark = pytest.mark.django_db

TOKEN = "scrape-" + "x" * 32


@pytest.fixture
def scraper(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    return Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def scrape(client: Client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_not_configured_is_a_404(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"]
)
def test_refused_without_the_token(settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = Client().get("/metrics", **headers)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert b"mvoting_" not in response.content


def test_the_allowed_networks_are_checked(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert Client().get("/metrics").status_code == 403
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "127.0.0.0/8"]
    assert Client().get("/metrics").status_code == 200
    # Both set: both must hold.
    settings.METRICS_TOKEN = TOKEN
    assert Client().get("/metrics").status_code == 403
    assert Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").get("/metrics").status_code == 200


def test_scraped_by_an_internal_host_name_not_in_allowed_hosts(scraper, settings):
    settings.ALLOWED_HOSTS = ["vote.example.org"]
    response = scraper.get("/metrics", HTTP_HOST="web:8000")
    assert response.status_code == 200
    assert b"mvoting_ballots_pending" in response.content


def test_ballot_counters_move_when_a_ballot_is_cast_and_counted(scraper, client_for, citizen):
    k = counting.k()
    poll = PollFactory()
    yes, _no = poll.options.all()
    before = scrape(scraper)

    response = client_for(citizen).post(
        f"/api/v1/polls/{poll.pk}/ballots/", {"options": [yes.pk]}, format="json"
    )
    assert response.status_code == 201
    after_cast = scrape(scraper)
    assert value(after_cast, "mvoting_ballots_accepted_total") == (
        value(before, "mvoting_ballots_accepted_total") + 1
    )
    assert value(after_cast, "mvoting_ballots_pending") == 1
    assert value(after_cast, "mvoting_ballots_counted_total") == 0

    # The counter's trigger (2k sealed) reached, not yet counted: the lag shows waiting work.
    cast_many(poll, 2 * k - 1)
    waiting = scrape(scraper)
    assert value(waiting, "mvoting_ballots_pending") == 2 * k
    assert value(waiting, "mvoting_counting_lag_seconds") > 0

    count_now()
    counted = scrape(scraper)
    assert value(counted, "mvoting_ballots_counted_total") == k  # the newest k stay sealed
    assert value(counted, "mvoting_ballots_pending") == k
    assert value(counted, "mvoting_counting_lag_seconds") == 0

    close_and_count(poll)
    final = scrape(scraper)
    assert value(final, "mvoting_ballots_counted_total") == 2 * k
    assert value(final, "mvoting_ballots_pending") == 0
    assert value(final, "mvoting_counting_lag_seconds") == 0
    assert value(final, "mvoting_metrics_database_up") == 1


def test_a_closed_poll_left_uncounted_shows_as_counting_lag(scraper, settings):
    poll = PollFactory()
    cast_many(poll, 3)
    closed_at = timezone.now() - timedelta(minutes=5)
    type(poll).objects.filter(pk=poll.pk).update(
        opens_at=closed_at - timedelta(days=1), closes_at=closed_at
    )
    lag = value(scrape(scraper), "mvoting_counting_lag_seconds")
    assert 300 - settings.BALLOT_CLOSE_GRACE_SECONDS - 5 < lag < 300 + 60


def test_the_route_label_is_the_url_pattern_never_the_ids(scraper, client_for, citizen):
    poll = PollFactory()
    yes, _no = poll.options.all()
    client_for(citizen).post(
        f"/api/v1/polls/{poll.pk}/ballots/", {"options": [yes.pk]}, format="json"
    )
    client_for(citizen).get(f"/api/v1/polls/{poll.pk}/")
    Client().get("/admin/login/")  # the full chain (cookies), not the app-token lane
    Client().get("/no/such/page/9876543")
    samples = scrape(scraper)
    routes = {
        dict(labels)["route"]
        for (name, labels) in samples
        if name == "mvoting_http_request_duration_seconds_count"
    }
    assert "api/v1/polls/<id:poll_id>/ballots/" in routes
    assert "api/v1/polls/<id:poll_id>/" in routes
    assert "admin/login/" in routes
    assert "<unmatched>" in routes
    for route in routes:
        assert f"/{poll.pk}/" not in f"/{route}" and "9876543" not in route
    ballots = value(
        samples,
        "mvoting_http_request_duration_seconds_count",
        route="api/v1/polls/<id:poll_id>/ballots/",
        method="POST",
        status="2xx",
    )
    assert ballots >= 1


def test_outbox_lag_is_the_oldest_unfinished_events_age(scraper):
    assert value(scrape(scraper), "mvoting_outbox_lag_seconds") == 0
    OutboxEvent.objects.create(
        kind="poll_opened",
        subject_id=1,
        dedupe_key="metrics-test",
        created_at=timezone.now() - timedelta(minutes=10),
    )
    OutboxEvent.objects.create(
        kind="poll_opened",
        subject_id=2,
        dedupe_key="metrics-test-done",
        created_at=timezone.now() - timedelta(hours=5),
        fanned_out_at=timezone.now(),
    )
    lag = value(scrape(scraper), "mvoting_outbox_lag_seconds")
    assert 600 <= lag < 700


def test_sms_sent_and_refused_are_counted(settings):
    sent = REGISTRY.get_sample_value("mvoting_sms_sent_total") or 0
    send_sms("+821012345678", "code 123456")
    assert REGISTRY.get_sample_value("mvoting_sms_sent_total") == sent + 1

    def refused() -> float:
        return REGISTRY.get_sample_value("mvoting_sms_refused_total", {"scope": "number"}) or 0

    before = refused()
    with pytest.raises(sms_budget.SMSBudgetRefused):
        for _ in range(100):
            sms_budget.charge(phone="+821099998888", ip="203.0.113.9")
    assert refused() == before + 1


@pytest.mark.django_db(transaction=True)
async def test_websocket_connections_gauge_follows_open_sockets():
    channel_layers.backends.clear()
    try:
        poll = await database_sync_to_async(PollFactory)()
        official = await database_sync_to_async(OfficialFactory)(role="official")

        def open_sockets() -> float:
            return REGISTRY.get_sample_value("mvoting_websocket_connections") or 0

        before = open_sockets()
        communicator = await _communicator(poll.pk, user=official)
        connected, _ = await communicator.connect()
        assert connected
        assert open_sockets() == before + 1
        await communicator.disconnect()
        assert open_sockets() == before
        # Refused at the handshake: never counted.
        refused, _ = await (await _communicator(poll.pk)).connect()
        assert not refused
        assert open_sockets() == before
    finally:
        live.stop_all()
        channel_layers.backends.clear()


def test_multiprocess_mode_sums_the_workers(tmp_path, settings):
    """gunicorn's workers each write their own file; the scrape sums them (live sockets only of
    live workers). Run in child processes, as the workers are."""
    import subprocess
    import sys

    script = (
        "from core import metrics\n"
        "metrics.BALLOTS_ACCEPTED.inc(3)\n"
        "metrics.WEBSOCKET_CONNECTIONS.inc()\n"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for _worker in range(2):
        subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=settings.BASE_DIR)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    assert registry.get_sample_value("mvoting_ballots_accepted_total") == 6
