"""The ballot box: who took part, sealed envelopes, the public board of counted batches, counters.

Nothing here joins a citizen to a choice. ``Participation`` (who) and ``Envelope`` (what, sealed to
the counter's public key) are written by the voter's transaction; the choice is readable only by
the counter, which opens envelopes in shuffled batches of at least ``BALLOT_BATCH_MIN``, appends
each batch to the poll's public ``BoardEntry`` chain, adds it to the ``TallyCell`` counters and
deletes the envelopes — in one transaction (voting/counting.py; docs/secret-ballot.md).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from voting.models.polls import Poll


class Participation(models.Model):
    """That a citizen took part in a poll — and nothing about what they chose.

    Two unique constraints, so the database (not an ``exists()`` check) decides "exactly once":
    one per (poll, account), and one per (poll, keyed hash of the phone), so deleting the
    account and signing up again with the same number cannot vote twice in the same poll.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    poll = models.ForeignKey(Poll, on_delete=models.PROTECT, related_name="participations")
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="participations",
    )
    voter_key = models.CharField(max_length=64, editable=False)
    # The day only: enough for turnout by day.
    voted_on = models.DateField(default=timezone.localdate, editable=False)
    # How the ballot reached the box (voting/models/channels.py); the on-site session it was
    # scanned at. Never on the ballot: the board's ballots carry no channel.
    # db_default: a web process still running the code before channels (a rolling deploy)
    # inserts participations without one; they came through the app.
    channel = models.CharField(max_length=8, default="app", db_default="app", editable=False)
    onsite_session = models.ForeignKey(
        "voting.OnsiteSession",
        null=True,
        on_delete=models.PROTECT,
        related_name="participations",
        editable=False,
    )

    class Meta:
        verbose_name = _("participation")
        verbose_name_plural = _("participations")
        constraints = [
            models.UniqueConstraint(fields=["poll", "voter"], name="one_participation_per_voter"),
            models.UniqueConstraint(
                fields=["poll", "voter_key"], name="one_participation_per_phone"
            ),
        ]
        indexes = [models.Index(fields=["voter", "poll"])]

    def __str__(self) -> str:
        return f"participation in poll {self.poll_id}"


class Envelope(models.Model):
    """A cast ballot not yet counted: the choice and breakdown attributes, sealed.

    ``sealed`` is a libsodium sealed box to the counter's public key, padded so every envelope of
    a poll has the same length. ``lookup`` answers "is my receipt still sealed?"; it is a hash of
    the receipt code different from the board's tracker, so nothing stored ties an envelope to
    the ballot it becomes. The counter deletes the envelope in the transaction that counts it.
    """

    id = models.BigAutoField(primary_key=True)
    poll = models.ForeignKey(Poll, on_delete=models.PROTECT, related_name="envelopes")
    sealed = models.BinaryField()
    lookup = models.CharField(max_length=64, unique=True)

    class Meta:
        indexes = [models.Index(fields=["poll", "id"])]

    def __str__(self) -> str:
        return f"sealed envelope in poll {self.poll_id}"


class CountState(models.Model):
    """The counter's per-poll state; its row lock lets counters run side by side.

    ``sealed_breakdown`` accumulates the breakdown (gu, age band, gender × options) of the
    counted ballots, encrypted with a key only the counter holds; it is opened and published
    once, when the poll is final, then erased — so no breakdown number ever changes by less than
    a whole poll's cell.
    """

    poll = models.OneToOneField(
        Poll, primary_key=True, on_delete=models.CASCADE, related_name="count_state"
    )
    seq = models.PositiveIntegerField(default=0)
    head = models.CharField(max_length=64, default="0" * 64)
    counted = models.BigIntegerField(default=0)
    sealed_breakdown = models.BinaryField(null=True)
    # Weighted shares and coverage (voting/evidence.py), computed once from the accumulator at
    # the final count; nothing joint (gu × age × sex) is in it.
    evidence = models.JSONField(null=True, blank=True)
    final = models.BooleanField(default=False)
    finalized_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"count of poll {self.poll_id}: {self.counted} in {self.seq} batches"


class BoardEntry(models.Model):
    """One counted batch on the poll's public board: a link of a signed hash chain.

    ``trackers`` (hashes of the batch's receipt codes) are sorted; ``ballots`` (each a sorted list
    of option ids) are shuffled, separately: the board says which receipts were counted in the
    batch and what the batch chose, never which receipt chose what.
    """

    poll = models.ForeignKey(Poll, on_delete=models.PROTECT, related_name="board")
    seq = models.PositiveIntegerField()
    prev = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)
    trackers = models.JSONField()
    ballots = models.JSONField()
    # The batch's ballots per channel ({"app": 9, "assisted": 1}); null on entries written before
    # channels were recorded.
    channels = models.JSONField(null=True, blank=True)
    size = models.PositiveIntegerField()
    counted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["poll", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["poll", "seq"], name="one_board_entry_per_seq")
        ]

    def __str__(self) -> str:
        return f"board of poll {self.poll_id}, batch {self.seq}"


class BoardTracker(models.Model):
    """Which batch holds a receipt's tracker: the receipt lookup's index into the board."""

    tracker = models.CharField(max_length=64, primary_key=True)
    entry = models.ForeignKey(BoardEntry, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"tracker in batch {self.entry_id}"


class TallyCell(models.Model):
    """One counter: ballots or votes for an option, overall or in one breakdown cell.

    The counter adds whole batches to the overall counters; breakdown cells are written once, at
    the end. ``dimension``/``value``: ("", "") overall, ("gu", code), ("age", "20"),
    ("gender", "female"). ``option_id`` 0 counts ballots; any other value votes for that option.
    """

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="tally_cells")
    dimension = models.CharField(max_length=16, blank=True)
    # A gu code, an age band, a rank position, an option id, a score — or a whole ranking (ids
    # joined by ">"; ranked polls have at most MAX_RANKED_OPTIONS options, so it fits).
    value = models.CharField(max_length=255, blank=True)
    option_id = models.BigIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["poll", "dimension", "value", "option_id"], name="unique_tally_counter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.poll_id}/{self.dimension}:{self.value}/{self.option_id}"


class IdempotencyRecord(models.Model):
    """A ballot answer kept for replay to a retrying phone, readable only by that phone.

    ``lookup`` is a hash of (user, key); the stored answer is encrypted with a key derived from the
    client's Idempotency-Key, which the server never stores, and padded to a fixed length. So the
    table cannot be read to link a citizen to a receipt or a choice.
    """

    lookup = models.CharField(max_length=64, unique=True)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    sealed_body = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"idempotency record {self.lookup[:8]}"
