"""Live tallies across processes: two real daphne servers sharing PostgreSQL and Redis.

A dashboard socket on one server, ballots through the other: the totals must cross from one
process to the other through the channel layer. The servers run against the test database, so
the test commits its data (``transaction=True``) and stops the servers before the flush.

The servers and clients live in ``tests.reliability.servers`` (shared with the browser test and
the reliability suite).
"""

import pytest

from tests.factories import PollFactory
from tests.reliability.servers import (
    WebSocketClient,
    cast_ballot,
    official_in_group,
    running_servers,
    session_cookie,
    voters,
    wait_for_total,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def two_servers(transactional_db):
    with running_servers("one", "two") as servers:
        yield servers


# --- The test ------------------------------------------------------------------------------------


def test_ballots_through_one_server_reach_a_dashboard_on_the_other(two_servers):
    dashboard_server, ballot_server = two_servers
    poll = PollFactory(options=["찬성", "반대"])
    yes, no = poll.options.order_by("position")
    tokens = voters(7)
    official = official_in_group()

    client = WebSocketClient(
        dashboard_server, f"/ws/polls/{poll.pk}/", cookie=session_cookie(official)
    )
    try:
        assert client.accepted, client.status_line
        snapshot = client.receive_json(timeout=10)
        assert (snapshot["type"], snapshot["poll"], snapshot["total"]) == ("tally", poll.pk, 0)

        choices = [yes.pk] * 4 + [no.pk] * 3
        for token, option_id in zip(tokens, choices, strict=True):
            cast_ballot(ballot_server, token, poll.pk, option_id)

        final = wait_for_total(client, len(tokens), timeout=15)
        assert {o["id"]: o["votes"] for o in final["options"]} == {yes.pk: 4, no.pk: 3}
        assert final["status"] == "open"

        # A refresh asked of the dashboard's own server agrees (read from PostgreSQL).
        client.send_json({"type": "refresh"})
        assert wait_for_total(client, len(tokens), timeout=10)["total"] == 7
    finally:
        client.close()


def test_anonymous_socket_is_refused_by_a_real_server(two_servers):
    poll = PollFactory()
    client = WebSocketClient(two_servers[0], f"/ws/polls/{poll.pk}/", cookie="sessionid=nothing")
    try:
        assert not client.accepted
        assert " 403 " in client.status_line + " ", client.status_line
    finally:
        client.close()
