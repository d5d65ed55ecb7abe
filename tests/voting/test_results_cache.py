"""Results from the cache: one query for the poll, and never a stale number.

A citizen re-reading results while ballots are counted, an official editing an option, a poll
closing by the clock: each must see the document as it now is. The cache only saves the work of
building it again when nothing it depends on has changed (voting/results_cache.py).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.ballot_box import cast_many, count_now
from tests.factories import CitizenFactory, PollFactory
from voting.models import Poll

pytestmark = pytest.mark.django_db

K = 10


@pytest.fixture(autouse=True)
def _k(settings):
    settings.BALLOT_BATCH_MIN = K


@pytest.fixture
def poll():
    return PollFactory(results_visibility="live", options=["찬성", "반대"])


@pytest.fixture
def reader(client_for):
    return client_for(CitizenFactory())


def read(client, poll, **headers):
    response = client.get(f"/api/v1/polls/{poll.pk}/results/", **headers)
    assert response.status_code == 200, response.content
    return response.json()


def voting_queries(client, poll) -> list[str]:
    """The SQL one results read sends, less authentication's (session and user)."""
    with CaptureQueriesContext(connection) as ctx:
        read(client, poll)
    return [
        q["sql"]
        for q in ctx.captured_queries
        if "django_session" not in q["sql"] and '"accounts_user"' not in q["sql"].split("WHERE")[0]
    ]


def test_a_second_read_costs_one_query_the_poll_with_its_count(reader, poll):
    cast_many(poll, 2 * K)
    count_now()
    read(reader, poll)  # builds and caches

    queries = voting_queries(reader, poll)

    assert len(queries) == 1, queries
    assert "voting_poll" in queries[0] and "voting_countstate" in queries[0]


def test_a_counted_batch_shows_at_once(reader, poll):
    cast_many(poll, 2 * K)
    count_now()
    first = read(reader, poll)
    cast_many(poll, 2 * K)
    count_now()

    second = read(reader, poll)

    assert (first["total"], second["total"]) == (K, 3 * K)


def test_a_poll_closing_by_the_clock_shows_closed(reader, poll):
    assert read(reader, poll)["status"] == "open"
    # No write to the poll row: time passes its close.
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))

    assert read(reader, poll)["status"] == "closed"


def test_an_edited_option_label_shows_once_committed(
    reader, poll, django_capture_on_commit_callbacks
):
    read(reader, poll)
    option = poll.options.order_by("position", "id").first()
    with django_capture_on_commit_callbacks(execute=True):
        option.label = "찬성합니다"
        option.save()

    assert read(reader, poll)["options"][0]["label"] == "찬성합니다"


def test_an_edited_poll_shows_at_once(reader, poll):
    read(reader, poll)
    poll.title = "새 제목"
    poll.results_visibility = "after_close"
    poll.save()

    response = reader.get(f"/api/v1/polls/{poll.pk}/results/")

    assert response.status_code == 403  # no longer live: the cached document is not served


def test_each_language_gets_its_own_document(reader, poll):
    korean = read(reader, poll, HTTP_ACCEPT_LANGUAGE="ko")
    english = read(reader, poll, HTTP_ACCEPT_LANGUAGE="en")

    assert korean["note"] != english["note"]
    assert english["note"].startswith("Fewer than")
    assert read(reader, poll, HTTP_ACCEPT_LANGUAGE="ko")["note"] == korean["note"]


def test_a_cache_that_fails_costs_the_rebuild_not_the_answer(reader, poll, settings, caplog):
    cast_many(poll, 2 * K)
    count_now()
    expected = read(reader, poll)
    # A Redis nobody listens on: every cache call fails (the client's real error).
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }

    assert read(reader, poll) == expected
    assert "results cache unavailable: ConnectionError" in caplog.text
