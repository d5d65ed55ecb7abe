import os

import pytest
from channels.layers import channel_layers
from channels.testing import HttpCommunicator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fresh_channel_layers():
    """Channel layers are built once per process; make each test build its own."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_healthz_ok(client, fresh_channel_layers):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "channel_layer": "ok"}


def test_healthz_names_the_channel_layer_when_redis_is_unreachable(
    client, settings, fresh_channel_layers
):
    # A real Redis layer pointed at a port where nothing listens: what a Redis outage looks like.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "channel_layer": "down"}


@pytest.mark.redis
def test_healthz_on_real_redis(client, settings, fresh_channel_layers):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [os.environ["REDIS_URL"]], "prefix": "test-healthz"},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["channel_layer"] == "ok"


async def test_asgi_application_serves_http(fresh_channel_layers):
    from config.asgi import application

    communicator = HttpCommunicator(
        application, "GET", "/healthz", headers=[(b"host", b"testserver")]
    )
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 200
    assert b'"database": "ok"' in response["body"]


@pytest.mark.parametrize(
    "path", ["/api/v1/polls/99999999999999999999999/", "/api/v1/nothing-here/", "/api/v2/"]
)
def test_unknown_api_paths_are_json_404_even_in_debug(client, settings, path):
    settings.DEBUG = True
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
