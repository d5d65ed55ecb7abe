"""/livez and /readyz: liveness checks nothing; readiness checks each part a request needs, against
real services (a closed port is what an outage looks like), and names the one that failed."""

import os

import pytest
from channels.testing import HttpCommunicator

pytestmark = pytest.mark.django_db

CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _redis_cache(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "obs-readyz",
            "KEY_FUNCTION": "core.cache_keys.make_key",
        }
    }


def test_livez_checks_nothing(client, settings):
    settings.CACHES = _redis_cache(CLOSED)
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_on_the_embedded_default(client):
    # SQLite or the test's PostgreSQL, no Redis configured by this test's settings: skipped.
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["storage"] == "ok"
    assert set(body) == {"database", "redis", "broker", "storage"}


def test_readyz_fails_naming_redis_when_it_is_unreachable(client, settings):
    settings.CACHES = _redis_cache(CLOSED)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["redis"] == "down"
    assert body["database"] == "ok"


def test_readyz_fails_naming_the_broker_when_it_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = CLOSED
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["broker"] == "down"


def test_readyz_fails_naming_storage_when_media_cannot_be_written(client, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings.MEDIA_ROOT = str(blocker / "media")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["storage"] == "down"


@pytest.mark.redis
def test_readyz_passes_with_redis_and_broker_up(client, settings):
    settings.CACHES = _redis_cache(os.environ["REDIS_URL"])
    settings.CELERY_BROKER_URL = os.environ["REDIS_URL"]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "database": "ok",
        "redis": "ok",
        "broker": "ok",
        "storage": "ok",
    }


@pytest.mark.parametrize("path", ["/livez", "/readyz"])
def test_a_container_healthcheck_needs_no_allowed_host(client, settings, path):
    """The healthcheck calls 127.0.0.1:8000; ALLOWED_HOSTS is the public domain."""
    settings.ALLOWED_HOSTS = ["vote.example.org"]
    response = client.get(path, HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    # Every other path still validates the Host.
    assert client.get("/api/v1/polls/", HTTP_HOST="127.0.0.1:8000").status_code == 400


def test_healthz_still_answers(client):
    assert client.get("/healthz").status_code in (200, 503)
    assert "database" in client.get("/healthz").json()


@pytest.mark.django_db(transaction=True)
async def test_readyz_under_asgi_with_a_foreign_host(settings):
    from config.asgi import application

    settings.ALLOWED_HOSTS = ["vote.example.org"]
    settings.CACHES = _redis_cache(CLOSED)
    communicator = HttpCommunicator(application, "GET", "/readyz", headers=[(b"host", b"web:8000")])
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 503
    assert b'"redis": "down"' in response["body"]
