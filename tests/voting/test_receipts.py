"""Receipts: the voter sees the choice once, in the 201; afterwards ``GET /api/v1/receipts/<code>/``
says "sealed", or "counted" in batch N of the public board — and never the choice, so a coercer
shown a receipt learns which batch, not how its holder voted."""

import json
from collections.abc import Iterator

import pytest

from tests.ballot_box import cast_many, close_and_count, count_now
from tests.factories import CitizenFactory, PollFactory
from voting import counting, receipts
from voting.models import BoardTracker, CountState

pytestmark = pytest.mark.django_db

# Labels no other field of an answer could contain by chance.
LABELS = ["케이블카 설치 찬성", "케이블카 설치 반대", "재검토 요청"]


def receipt_url(code: str) -> str:
    return f"/api/v1/receipts/{code}/"


def ballots_url(poll) -> str:
    return f"/api/v1/polls/{poll.pk}/ballots/"


@pytest.fixture
def k() -> int:
    return counting.k()


def vote(client_for, poll, option_ids: list[int]) -> str:
    response = client_for(CitizenFactory()).post(
        ballots_url(poll), {"options": option_ids}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()["receipt"]


def leaves(value) -> Iterator[object]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    else:
        yield value


def assert_says_nothing_of_the_choice(answer: dict, poll, *, status: str, batch) -> None:
    """Every field of a receipt's answer is the poll's or the count's: no label, and no option id
    except where an id happens to equal the poll's id or the batch number (the answer is pinned
    whole, so nothing else can be in it)."""
    assert answer == {"poll": poll.pk, "poll_title": poll.title, "status": status, "batch": batch}
    text = json.dumps(answer, ensure_ascii=False)
    for option in poll.options.all():
        assert option.label not in text
        assert option.pk not in set(leaves(answer)) - {poll.pk, batch}
    assert not {"options", "option", "choice", "choices", "votes"} & set(leaves(answer))


def test_the_201_echoes_the_chosen_options_exactly_once(client_for):
    poll = PollFactory(kind="multiple", min_choices=1, max_choices=3, options=LABELS)
    a, _b, c = poll.options.all()

    response = client_for(CitizenFactory()).post(
        ballots_url(poll), {"options": [c.pk, a.pk]}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"poll", "options", "receipt"}
    assert body["options"] == sorted([a.pk, c.pk])  # each chosen option once, nothing else
    assert body["poll"] == poll.pk
    assert receipts.looks_valid(body["receipt"])


def test_a_sealed_receipt_says_sealed_and_nothing_of_the_choice(client_for, api):
    """Two voters who chose differently get the same answer for their receipts: it depends on the
    poll and the count only. Anyone may ask (the code is the secret), in any case, with or
    without the dashes."""
    poll = PollFactory(options=LABELS)
    first, second, _third = poll.options.all()
    mine = vote(client_for, poll, [first.pk])
    theirs = vote(client_for, poll, [second.pk])

    answers = [
        api.get(receipt_url(code)) for code in (mine, mine.lower(), mine.replace("-", ""), theirs)
    ]

    assert [answer.status_code for answer in answers] == [200] * 4
    for answer in answers:
        assert_says_nothing_of_the_choice(answer.json(), poll, status="sealed", batch=None)


def test_a_counted_receipt_names_its_batch_and_the_board_holds_its_tracker(client_for, api, k):
    """A coercer shown the receipt after the count: "counted in batch N" and the batch's entry on
    the board (its trackers sorted, its ballots a separate shuffled list) — the same answer every
    voter of that batch gets, whatever they chose."""
    poll = PollFactory(options=LABELS, results_visibility="live")
    first, second, third = poll.options.all()
    mine = vote(client_for, poll, [first.pk])
    theirs = vote(client_for, poll, [third.pk])
    cast_many(poll, k - 2, choose=[second.pk])

    close_and_count(poll)

    tracked = BoardTracker.objects.select_related("entry").get(tracker=receipts.tracker(mine))
    answer = api.get(receipt_url(mine))
    assert answer.status_code == 200
    assert_says_nothing_of_the_choice(
        answer.json(), poll, status="counted", batch=tracked.entry.seq
    )
    assert api.get(receipt_url(theirs)).json() == answer.json()
    board = api.get(f"/api/v1/polls/{poll.pk}/board/").json()
    (entry,) = [entry for entry in board["entries"] if entry["seq"] == answer.json()["batch"]]
    assert receipts.tracker(mine) in entry["trackers"]
    assert receipts.tracker(theirs) in entry["trackers"]


def test_while_the_poll_is_open_the_newest_k_receipts_stay_sealed(api, k):
    """The counter leaves the newest k envelopes of an open poll; their receipts say so, the
    others name the batch that counted them."""
    poll = PollFactory(options=LABELS)
    codes = cast_many(poll, 2 * k + 3)

    assert count_now() == k + 3

    answers = [api.get(receipt_url(code)).json() for code in codes]
    assert [answer["status"] for answer in answers] == ["counted"] * (k + 3) + ["sealed"] * k
    assert {answer["batch"] for answer in answers[: k + 3]} == {1}
    for answer in answers:
        assert_says_nothing_of_the_choice(
            answer, poll, status=answer["status"], batch=answer["batch"]
        )


def test_a_receipt_of_a_poll_below_k_stays_sealed_when_the_poll_is_final(api, k):
    """Fewer than k ballots in the whole poll: nothing is ever counted, so the receipt never moves
    to "counted" (a batch of one would name its ballot)."""
    poll = PollFactory(options=LABELS)
    (code,) = cast_many(poll, 1)
    cast_many(poll, k - 2)

    close_and_count(poll)

    assert CountState.objects.get(poll=poll).final
    assert_says_nothing_of_the_choice(
        api.get(receipt_url(code)).json(), poll, status="sealed", batch=None
    )


@pytest.mark.parametrize(
    "code",
    [
        "AAAAA-AAAAA-AAAAA-AAAAA",  # well-formed, never handed out
        "short",
        "AAAAA-AAAAA-AAAAA-AAAAA-A",  # one symbol too many
        "UUUUU-UUUUU-UUUUU-UUUUU",  # U is not in the alphabet
        "' OR 1=1 --",
        "%00",
        "가" * 20,
        "A" * 2000,
    ],
    ids=lambda code: code[:30],
)
def test_an_unknown_or_malformed_receipt_is_a_404_in_json(api, code):
    response = api.get(receipt_url(code))

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "detail"}
    assert body["code"] == "not_found"
    assert isinstance(body["detail"], str) and body["detail"]


def test_the_hashes_stored_for_a_receipt_do_not_work_as_receipts(client_for, api, k):
    """Someone holding the public board (trackers) or the envelope table (lookups) cannot use
    those hashes to ask the receipt endpoint about anyone's ballot."""
    poll = PollFactory(options=LABELS, results_visibility="live")
    code = vote(client_for, poll, [poll.options.first().pk])
    sealed_lookup = receipts.envelope_lookup(code)
    cast_many(poll, k - 1)
    close_and_count(poll)

    for stolen in (receipts.tracker(code), sealed_lookup):
        assert api.get(receipt_url(stolen)).status_code == 404
    assert api.get(receipt_url(code)).json()["status"] == "counted"
