"""The "database failover" playbook (docs/operations/incidents.md), checked on PostgreSQL.

After a failover the old primary may stay reachable as a read-only server (demoted to a standby),
or a connection string may lead to a standby. The servers' pooled connections then reach a
server that refuses writes. This test makes the test database read-only for new sessions, as a
standby is, and sends a ballot through the API: nothing may be written, and the answer should be
the API's "briefly unavailable" (503 + Retry-After, as for a dropped connection:
tests/config/test_database_down.py), which the app retries — not a 500.
"""

import contextlib
from collections.abc import Iterator

import pytest
from django.db import connection
from django.http import HttpResponse as Response
from rest_framework.test import APIClient

from tests.conftest import make_session_token
from tests.factories import CitizenFactory, PollFactory
from voting.models import Envelope, Participation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@contextlib.contextmanager
def read_only_database() -> Iterator[None]:
    """New sessions of the test database start read-only, as on a hot standby; every pooled
    connection is replaced so the next request gets one. Undone whatever happens."""
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    # The connection in hand goes back to the pool, and the pool with every connection it has.
    connection.close()
    connection.close_pool()
    try:
        yield
    finally:
        connection.close()
        connection.close_pool()
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION default_transaction_read_only = off")
            cursor.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        connection.close()
        connection.close_pool()


def ballot_to_a_read_only_server() -> tuple[Response, int]:
    """A citizen's ballot, sent while the database refuses writes: the answer and the poll."""
    poll = PollFactory()
    option = poll.options.first()
    citizen = APIClient(raise_request_exception=False)  # the status a phone would get
    citizen.credentials(HTTP_X_SESSION_TOKEN=make_session_token(CitizenFactory()))
    with read_only_database():
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_read_only")
            assert cursor.fetchone() == ("on",)
        response = citizen.post(
            f"/api/v1/polls/{poll.pk}/ballots/", {"options": [option.pk]}, format="json"
        )
    return response, poll.pk


def test_a_ballot_sent_to_a_read_only_server_writes_nothing_and_answers_503():
    response, poll_id = ballot_to_a_read_only_server()
    assert response.status_code != 201
    assert not Participation.objects.filter(poll_id=poll_id).exists()
    assert not Envelope.objects.filter(poll_id=poll_id).exists()
    assert response.status_code == 503, (response.status_code, response.content[:300])
    assert response["Retry-After"]
