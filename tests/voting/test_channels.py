"""How a ballot reached the box (app, call centre, on site): recorded on the participation,
sealed in the envelope, published per batch on the board and, once final, as a breakdown with
the breakdowns' suppression — and never beside a single ballot."""

import pytest

from tests.ballot_box import assert_box_consistent, close_and_count, opened_envelopes
from tests.factories import CitizenFactory, PollFactory
from verifier import verify_board
from voting import board, casting, counting, results, sealing, tallies
from voting.models import BoardEntry, Channel, Participation


def cast(poll, n, option, channel=Channel.APP):
    for _ in range(n):
        casting.cast_ballot(poll=poll, voter=CitizenFactory(), option_ids=[option], channel=channel)


@pytest.fixture
def poll(db):
    return PollFactory(options=["찬성", "반대"])


def test_the_channel_is_on_the_participation_and_sealed_in_the_envelope(poll):
    yes, _no = poll.options.all()
    cast(poll, 1, yes.pk, Channel.ASSISTED)

    assert Participation.objects.get(poll=poll).channel == "assisted"
    (sealed,) = opened_envelopes(poll)
    assert sealed["c"] == "assisted"


def test_each_board_entry_counts_its_batch_per_channel_and_the_hash_covers_it(poll):
    k = counting.k()
    yes, no = poll.options.all()
    cast(poll, k, yes.pk)
    cast(poll, k, no.pk, Channel.ASSISTED)
    close_and_count(poll)

    entries = list(BoardEntry.objects.filter(poll=poll).order_by("seq"))
    totals: dict[str, int] = {}
    for entry in entries:
        assert sum(entry.channels.values()) == entry.size
        for channel, n in entry.channels.items():
            totals[channel] = totals.get(channel, 0) + n
    assert totals == {"app": k, "assisted": k}
    assert_box_consistent([poll.pk])


def test_a_changed_channel_count_breaks_the_boards_hash(poll):
    """Nobody moves ballots from one channel to another on the board unnoticed: the counts are
    hashed and signed with the batch."""
    k = counting.k()
    yes, _no = poll.options.all()
    cast(poll, 2 * k, yes.pk, Channel.ASSISTED)
    close_and_count(poll)
    entry = BoardEntry.objects.filter(poll=poll).order_by("seq").first()
    entry.channels = {"app": entry.size}
    entry.save()

    problems = board.check(poll_id=poll.pk).problems

    assert any("was changed" in problem for problem in problems), problems


def test_the_verifier_refuses_channel_counts_that_do_not_add_up(poll):
    k = counting.k()
    yes, _no = poll.options.all()
    cast(poll, 2 * k, yes.pk)
    close_and_count(poll)
    document = board.document(poll_id=poll.pk, limit=None)
    entry = document["entries"][0]
    entry["channels"] = {"app": entry["channels"]["app"] + 1}

    report = verify_board.verify(document, key_hex=sealing.verify_key_hex())

    assert not report.ok
    assert any("per channel do not add up" in problem for problem in report.problems)


def test_the_channel_breakdown_is_published_at_the_close_with_small_channels_withheld(poll):
    """A watcher of the results learns how many came through each channel only where that is
    at least k ballots, and never while the poll is open."""
    k = counting.k()
    yes, no = poll.options.all()
    cast(poll, 2 * k, yes.pk)
    cast(poll, k, no.pk, Channel.ASSISTED)
    cast(poll, 1, no.pk, Channel.ONSITE)  # one on-site ballot: below k
    counting.count_all()
    assert tallies.read(poll.pk).breakdown.get("channel") is None  # open: no breakdown at all

    close_and_count(poll)
    document = results.build(poll, tallies.read(poll.pk))

    cells = {cell["channel"]: cell["total"] for cell in document["breakdown"]["channel"]}
    # The lone on-site ballot is not listed; with it left out, the withheld remainder would be
    # one ballot, so the smallest listed channel (assisted, k) is withheld with it.
    assert cells == {"app": 2 * k}
    assert "onsite" not in cells


def test_an_onsite_only_poll_refuses_a_ballot_from_the_app(db, client_for):
    poll = PollFactory(onsite_only=True)
    yes, _no = poll.options.all()
    citizen = CitizenFactory()

    response = client_for(citizen).post(
        f"/api/v1/polls/{poll.pk}/ballots/", {"options": [yes.pk]}, format="json"
    )

    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "onsite_only"
    assert not Participation.objects.filter(poll=poll).exists()
