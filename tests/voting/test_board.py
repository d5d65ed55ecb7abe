"""The public board: what it holds, how it pages, and that it proves the totals and nothing more."""

import pytest
from django.test import override_settings

from tests.ballot_box import after_close, cast_many, close_and_count, count_now
from tests.factories import PollFactory
from verifier import verify_board
from voting import board, sealing
from voting.models import BoardEntry, TallyCell

pytestmark = pytest.mark.django_db


def board_url(poll, after=None) -> str:
    return f"/api/v1/polls/{poll.pk}/board/" + (f"?after={after}" if after is not None else "")


def test_a_counted_poll_s_board_verifies_with_the_citys_key_and_finds_every_receipt(api):
    """A citizen with the standalone verifier: the served board checks out against the published
    key, the totals equal its sum, and every receipt handed out is on it."""
    poll = PollFactory(results_visibility="live", options=["찬성", "반대", "보류"])
    codes = cast_many(poll, 27)
    close_and_count(poll)

    document = api.get(board_url(poll)).json()
    report = verify_board.verify(document, key_hex=sealing.verify_key_hex(), receipts=codes)

    assert report.ok, report.problems
    assert report.ballots == 27
    assert all(seq is not None for seq in report.found.values())


def test_the_board_pairs_no_tracker_with_a_choice(api):
    """A coercer with the board and a receipt: the entry lists the batch's trackers sorted and its
    ballots as a separate list, so the receipt's place says nothing about its ballot."""
    poll = PollFactory(results_visibility="live")
    cast_many(poll, 12)
    close_and_count(poll)

    entry = api.get(board_url(poll)).json()["entries"][0]

    assert entry["trackers"] == sorted(entry["trackers"])
    assert set(entry) == {"seq", "prev", "trackers", "ballots", "channels", "hash", "signature"}
    assert all(isinstance(ballot, list) for ballot in entry["ballots"])
    # Per batch, not per ballot: how many came through each channel.
    assert entry["channels"] == {"app": len(entry["ballots"])}


@override_settings(BALLOT_BATCH_MAX=20)
def test_long_boards_come_in_pages_the_verifier_follows(api, monkeypatch):
    monkeypatch.setattr(board, "PAGE_SIZE", 2)
    poll = PollFactory(results_visibility="live")
    cast_many(poll, 70)
    close_and_count(poll)
    assert BoardEntry.objects.filter(poll=poll).count() >= 4

    first = api.get(board_url(poll)).json()
    assert [entry["seq"] for entry in first["entries"]] == [1, 2]
    assert first["next"].endswith(f"/api/v1/polls/{poll.pk}/board/?after=2")
    pages = [first]
    while pages[-1]["next"]:
        pages.append(api.get(pages[-1]["next"]).json())
    merged = verify_board.merge_pages(pages)
    report = verify_board.verify(merged, key_hex=sealing.verify_key_hex())

    assert report.ok, report.problems
    assert report.ballots == 70
    assert sum(entry["size"] for entry in BoardEntry.objects.filter(poll=poll).values("size")) == 70


def test_the_board_is_hidden_exactly_while_the_results_are(api):
    """Before close an `after_close` poll's board would show what its results hide."""
    poll = PollFactory(results_visibility="after_close")
    cast_many(poll, 25)
    count_now()
    assert BoardEntry.objects.filter(poll=poll).exists()

    hidden = api.get(board_url(poll))
    assert hidden.status_code == 403
    assert hidden.json()["code"] == "results_hidden"

    close_and_count(poll)
    assert api.get(board_url(poll)).status_code == 200


@pytest.mark.parametrize("after", ["-1", "x", "1" * 12, "\x00"])
def test_a_bad_page_cursor_is_a_400(api, after):
    poll = PollFactory(results_visibility="live")
    response = api.get(f"/api/v1/polls/{poll.pk}/board/", {"after": after})
    assert response.status_code == 400
    assert response.json()["code"]


def test_check_catches_a_changed_ballot_and_a_changed_counter():
    """An operator editing the database by hand: ``verify_tallies``' check names what changed."""
    poll = PollFactory(results_visibility="live")
    cast_many(poll, 12)
    close_and_count(poll)
    assert board.check(poll_id=poll.pk).ok

    entry = BoardEntry.objects.get(poll=poll)
    original = entry.ballots
    flipped = [[poll.options.exclude(pk=ballot[0]).first().pk] for ballot in original[:1]]
    BoardEntry.objects.filter(pk=entry.pk).update(ballots=flipped + original[1:])
    assert not board.check(poll_id=poll.pk).ok

    BoardEntry.objects.filter(pk=entry.pk).update(ballots=original)
    assert board.check(poll_id=poll.pk).ok
    counter = TallyCell.objects.get(poll=poll, dimension="", option_id=0)
    TallyCell.objects.filter(pk=counter.pk).update(count=counter.count + 1)
    problems = board.check(poll_id=poll.pk).problems
    assert any("counters" in problem for problem in problems), problems


def test_a_poll_below_k_has_an_empty_board_and_no_totals(api):
    poll = PollFactory(results_visibility="live")
    cast_many(poll, 9)
    count_now(now=after_close(poll))
    close_and_count(poll)

    document = api.get(board_url(poll)).json()

    assert document["entries"] == [] and document["head"] is None
    assert document["totals"] == {"ballots": 0, "options": {}}
    assert verify_board.verify(document, key_hex=sealing.verify_key_hex()).ok
