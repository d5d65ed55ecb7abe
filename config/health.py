"""``GET /healthz``: is each part the service needs reachable right now?"""

import asyncio
import logging
import weakref

from asgiref.sync import sync_to_async
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)
CHECK_TIMEOUT = 2.0


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


_layers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, object]" = (
    weakref.WeakKeyDictionary()
)


def _own_layer():
    # A layer instance of its own: channels-redis serialises receives per instance, and the live
    # relay's blocking receive on the shared one would time this check out (a healthy node
    # reported down whenever a dashboard was open).
    loop = asyncio.get_running_loop()
    if loop not in _layers:
        _layers[loop] = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    return _layers[loop]


async def _check_channel_layer() -> None:
    # A round trip through the layer, not just a ping: proves messages can really flow.
    layer = _own_layer()
    channel = await layer.new_channel(prefix="healthz")
    await layer.send(channel, {"type": "healthz.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "healthz.ping":
        raise RuntimeError("channel layer returned another message")


async def _status(name: str, check) -> str:
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT)
    except Exception as exc:
        logger.warning("healthz: %s is down (%s)", name, type(exc).__name__)
        return "down"
    return "ok"


@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    database, channel_layer = await asyncio.gather(
        _status("database", sync_to_async(_check_database)),
        _status("channel_layer", _check_channel_layer),
    )
    body = {"database": database, "channel_layer": channel_layer}
    healthy = all(value == "ok" for value in body.values())
    return JsonResponse(body, status=200 if healthy else 503)
