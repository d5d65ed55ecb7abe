"""Live tallies across processes: two real daphne servers sharing PostgreSQL and Redis.

A dashboard socket on one server, ballots through the other, and the counter — which alone moves
the totals, a batch of at least k at a time — in a third process (this test's, running the
counter's own code on the same database): the totals must cross from the counter to the
dashboard's server through the channel layer. The servers run against the test database, so
the test commits its data (``transaction=True``) and stops the servers before the flush.

The servers and clients live in ``tests.reliability.servers`` (shared with the browser test and
the reliability suite).
"""

import pytest
from django.conf import settings

from tests.ballot_box import assert_box_consistent, assert_receipts_kept, count_now
from tests.factories import OfficialFactory, PollFactory
from tests.reliability.servers import (
    WebSocketClient,
    cast_ballot,
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


def test_ballots_through_one_server_counted_reach_a_dashboard_on_the_other(two_servers):
    dashboard_server, ballot_server = two_servers
    poll = PollFactory(options=["찬성", "반대"])
    yes, no = poll.options.order_by("position")
    k = settings.BALLOT_BATCH_MIN
    tokens = voters(3 * k)
    official = OfficialFactory(role="official")
    # Three batches' worth, in order: the oldest k, the next k, the newest k.
    choices = [yes.pk] * (k - 3) + [no.pk] * 3 + [no.pk] * k + [yes.pk] * k
    receipts = []

    def cast(first: int, last: int) -> None:
        for token, option_id in zip(tokens[first:last], choices[first:last], strict=True):
            receipts.append(cast_ballot(ballot_server, token, poll.pk, option_id)["receipt"])

    cast(0, 2 * k)
    assert count_now() == k  # the newest k wait for the next batch
    client = WebSocketClient(
        dashboard_server, f"/ws/polls/{poll.pk}/", cookie=session_cookie(official)
    )
    try:
        assert client.accepted, client.status_line
        snapshot = client.receive_json(timeout=10)
        assert (snapshot["type"], snapshot["poll"], snapshot["total"]) == ("tally", poll.pk, k)
        assert {o["id"]: o["votes"] for o in snapshot["options"]} == {yes.pk: k - 3, no.pk: 3}

        cast(2 * k, 3 * k)
        assert count_now() == k

        final = wait_for_total(client, 2 * k, timeout=15)
        assert {o["id"]: o["votes"] for o in final["options"]} == {yes.pk: k - 3, no.pk: k + 3}
        assert final["status"] == "open"
        # Breakdowns appear at the close.
        assert final["breakdown"] == {"gu": [], "age_band": [], "gender": [], "channel": []}

        # A refresh asked of the dashboard's own server agrees (read from PostgreSQL).
        client.send_json({"type": "refresh"})
        assert wait_for_total(client, 2 * k, timeout=10)["total"] == 2 * k
    finally:
        client.close()
    assert_box_consistent([poll.pk])
    assert_receipts_kept(receipts, [poll.pk])


def test_anonymous_socket_is_refused_by_a_real_server(two_servers):
    poll = PollFactory()
    client = WebSocketClient(two_servers[0], f"/ws/polls/{poll.pk}/", cookie="sessionid=nothing")
    try:
        assert not client.accepted
        assert " 403 " in client.status_line + " ", client.status_line
    finally:
        client.close()
