"""The public board of a poll: reading it, and checking it against the counters.

The board is the ballot box's evidence: every counted batch, hash-chained and signed by the
counter (voting/counting.py writes it). Reading and checking it here use the standalone
verifier's own functions (verifier/verify_board.py), so the server and a citizen's copy of the
verifier agree on what a valid board is by construction.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count

from verifier import verify_board
from voting import sealing, tallies
from voting.models import BoardEntry, CountState, Envelope, Participation

PAGE_SIZE = 100


def document(*, poll_id: int, after: int = 0, limit: int | None = PAGE_SIZE) -> dict:
    """The board as served at /api/v1/polls/<id>/board/: entries after ``after``, the signed
    head, the published totals and the key to check them with. ``next`` is the ``after`` of the
    next page (the view turns it into a URL), or None."""
    entries = BoardEntry.objects.filter(poll_id=poll_id, seq__gt=after).order_by("seq")
    rows = list(
        entries.values("seq", "prev", "trackers", "ballots", "channels", "hash", "signature")[
            : (limit + 1) if limit else None
        ]
    )
    more = bool(limit) and len(rows) > (limit or 0)
    rows = rows[:limit] if limit else rows
    head = (
        BoardEntry.objects.filter(poll_id=poll_id)
        .order_by("-seq")
        .values("seq", "hash", "signature")
        .first()
    )
    tally = tallies.read(poll_id)
    return {
        "poll": poll_id,
        "verify_key": sealing.verify_key_hex(),
        "batch_min": settings.BALLOT_BATCH_MIN,
        "entries": rows,
        "next": rows[-1]["seq"] if more else None,
        "head": head,
        "totals": {
            "ballots": tally.overall.ballots,
            "options": {str(option_id): n for option_id, n in tally.overall.votes.items()},
        },
    }


@dataclass(frozen=True)
class Check:
    poll_id: int
    ok: bool
    participations: int
    counted: int
    sealed: int
    problems: list[str]


def check(*, poll_id: int, all_signatures: bool = True) -> Check:
    """Everything ``verify_tallies`` promises for one poll: the board verifies (chain, every
    signature, each batch at least k), its sums equal the counters, and every participation is
    either a counted ballot or a sealed envelope."""
    full = document(poll_id=poll_id, limit=None)
    report = verify_board.verify(
        full, key_hex=sealing.verify_key_hex(), all_signatures=all_signatures
    )
    problems = list(report.problems)
    participations = Participation.objects.filter(poll_id=poll_id).count()
    sealed = Envelope.objects.filter(poll_id=poll_id).count()
    on_board = sum(len(entry["ballots"]) for entry in full["entries"])
    recount = tallies.recount(poll_id)
    counted = tallies.read(poll_id)
    if counted.overall != recount.overall:
        problems.append(
            f"counters {counted.overall.ballots} ballots {counted.overall.votes} differ from "
            f"the board {recount.overall.ballots} ballots {recount.overall.votes}"
        )
    on_the_board = tallies.ballot_counters_of(recount)
    for name, value in tallies.ballot_counters_of(counted).items():
        if value != on_the_board[name]:
            problems.append(f"the {name} counters differ from the board's ballots")
    if participations != on_board + sealed:
        problems.append(
            f"{participations} participations but {on_board} ballots counted and {sealed} sealed"
        )
    state = CountState.objects.filter(poll_id=poll_id).first()
    if state is not None:
        last = full["entries"][-1] if full["entries"] else None
        if state.counted != on_board or state.seq != (last["seq"] if last else 0):
            problems.append("the counter's state disagrees with the board")
        if last and state.head != last["hash"]:
            problems.append("the counter's head is not the board's last entry")
        if state.final and state.counted and sealed:
            # A final count leaves nothing sealed unless the whole turnout was below k.
            problems.append(f"{sealed} envelopes still sealed after the final count")
    breakdown = counted.breakdown
    for dimension, cells in breakdown.items():
        if sum(c.ballots for c in cells.values()) > counted.overall.ballots:
            problems.append(f"the {dimension} breakdown holds more ballots than were counted")
    return Check(
        poll_id=poll_id,
        ok=not problems,
        participations=participations,
        counted=on_board,
        sealed=sealed,
        problems=problems,
    )


def polls_with_ballots() -> list[int]:
    return list(
        Participation.objects.values_list("poll_id", flat=True)
        .annotate(n=Count("id"))
        .order_by("poll_id")
        .values_list("poll_id", flat=True)
    )
