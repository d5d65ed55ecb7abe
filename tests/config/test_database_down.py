"""A lost database connection is a clean 503 with Retry-After, never a 500 with a traceback."""

import pytest
from django.db import OperationalError
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from tests.conftest import make_session_token
from tests.factories import CitizenFactory, PollFactory
from voting.models import Envelope, IdempotencyRecord, Participation


class _LostConnection(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise OperationalError("terminating connection due to administrator command")


urlpatterns = [path("api/v1/lost/", _LostConnection.as_view())]


@pytest.mark.urls(__name__)
def test_database_errors_answer_503_with_retry_after(api):
    response = api.get("/api/v1/lost/")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json()["code"] == "service_unavailable"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ballot_on_a_killed_connection_is_503_and_writes_nothing(api, settings):
    """pg_terminate_backend on the connection a ballot uses, as an operator or a failover would."""
    from django.db import connection

    poll = PollFactory()
    option = poll.options.first().pk
    citizen = CitizenFactory()
    api.credentials(HTTP_X_SESSION_TOKEN=make_session_token(citizen))
    # Kill this thread's connection from a second connection, between two requests.
    import psycopg

    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**{k: v for k, v in params.items() if k != "prepare_threshold"}) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])

    response = api.post(f"/api/v1/polls/{poll.pk}/ballots/", {"options": [option]}, format="json")

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    connection.close()
    # Nothing of the voter's transaction: no participation, no sealed envelope, no replay record.
    assert Participation.objects.filter(poll=poll).count() == 0
    assert Envelope.objects.filter(poll=poll).count() == 0
    assert IdempotencyRecord.objects.count() == 0
    # The service recovers without a restart: the next request gets a fresh connection, and the
    # ballot is sealed once.
    retry = api.post(f"/api/v1/polls/{poll.pk}/ballots/", {"options": [option]}, format="json")
    assert retry.status_code == 201
    assert Participation.objects.filter(poll=poll, voter=citizen).count() == 1
    assert Envelope.objects.filter(poll=poll).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pooled_connection_killed_while_idle_is_replaced_not_handed_to_a_request(api):
    """After a database restart or a killed backend, the pool checks a connection before
    handing it out (CONN_HEALTH_CHECKS): the next request gets a live one, not a 503."""
    import psycopg
    from django.db import connection

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    connection.close()  # back to the pool, idle with the pool's others
    params = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "dbname", "password")},
        autocommit=True,
    ) as killer:
        killed = killer.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    assert len(killed) >= 2  # every pooled connection of this process is dead now

    for _ in range(len(killed)):
        response = api.get("/api/v1/districts/?parent=1100000000")
        assert response.status_code == 200, response.content
    connection.ensure_connection()
    assert connection.connection.info.backend_pid != pid
