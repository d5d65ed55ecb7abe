"""The "Redis down" playbook (docs/operations/incidents.md), checked: with the cache and the channel
layer pointed at a port where nothing listens, what still works for a citizen and an official, and
what answers how.

tests/voting/test_redis_down.py and tests/reliability/test_faults.py stop Redis under load; this
walks the playbook's list one request at a time, so each line of the playbook has its answer.
"""

import pytest
from channels.layers import channel_layers

from tests.ballot_box import assert_box_consistent, cast_many, close_and_count
from tests.factories import CitizenFactory, OfficialFactory, PollFactory

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


@pytest.fixture
def redis_down(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [DEAD_REDIS]},
        }
    }
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": DEAD_REDIS,
            "KEY_FUNCTION": "core.cache_keys.make_key",
        }
    }
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_a_citizen_reads_votes_and_checks_a_receipt_while_redis_is_down(redis_down, client_for):
    poll = PollFactory()
    option = poll.options.first()
    citizen = client_for(CitizenFactory())

    assert citizen.get("/api/v1/me/").status_code == 200  # the session, from the database
    listing = citizen.get("/api/v1/polls/")
    assert listing.status_code == 200
    assert poll.pk in [item["id"] for item in listing.json()["results"]]
    assert citizen.get(f"/api/v1/polls/{poll.pk}/").status_code == 200

    ballot = citizen.post(
        f"/api/v1/polls/{poll.pk}/ballots/", {"options": [option.pk]}, format="json"
    )
    assert ballot.status_code == 201, ballot.content  # the rate limits fail open
    receipt = citizen.get(f"/api/v1/receipts/{ballot.json()['receipt']}/")
    assert receipt.status_code == 200
    assert receipt.json()["status"] == "sealed"

    # Others vote; the poll closes; the counter counts without Redis (no live message sent).
    cast_many(poll, 9)
    assert close_and_count(poll) == 10
    assert_box_consistent([poll.pk])
    results = citizen.get(f"/api/v1/polls/{poll.pk}/results/")
    assert results.status_code == 200
    assert results.json()["total"] == 10


def test_probes_tell_a_redis_outage_from_a_dead_process(redis_down, api):
    """Liveness stays up (restarting replicas would not bring Redis back); readiness and
    /healthz say what is down."""
    assert api.get("/livez").status_code == 200
    ready = api.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["database"] == "ok"
    assert ready.json()["redis"] == "down"
    health = api.get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"database": "ok", "channel_layer": "down"}


def test_an_official_asking_for_a_dashboard_ticket_while_redis_is_down_gets_a_503(
    redis_down, client_for
):
    """Tickets live in the cache only: none can be issued while Redis is away. The answer must
    say so (503, the API's error shape), never a 500."""
    poll = PollFactory()
    official = client_for(OfficialFactory(role="official"))
    official.raise_request_exception = False  # the status the official's app would get
    response = official.post("/api/v1/ws-tickets/", {"poll": poll.pk}, format="json")
    assert response.status_code == 503, (response.status_code, response.content[:300])
    assert set(response.json()) >= {"code", "detail"}
