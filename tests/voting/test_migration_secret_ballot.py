"""Upgrading to the sealed ballot box keeps every ballot: each one stored in clear before becomes a
sealed envelope, and the counter puts each on the board exactly once, with the receipt it had."""

import hashlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.ballot_box import assert_box_consistent, count_now
from tests.district_codes import JONGNO
from voting import tallies
from voting.models import BoardTracker, Envelope

BEFORE = [("voting", "0005_audit_delete_action")]
AFTER = [("voting", "0006_secret_ballot")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_ballots_stored_in_clear_are_sealed_then_counted_onto_the_board_once():
    old = _migrate(BEFORE)
    Poll = old.get_model("voting", "Poll")
    Option = old.get_model("voting", "Option")
    Participation = old.get_model("voting", "Participation")
    Ballot = old.get_model("voting", "Ballot")
    BallotChoice = old.get_model("voting", "BallotChoice")
    TallyCell = old.get_model("voting", "TallyCell")
    now = timezone.now()
    poll = Poll.objects.create(
        title="upgrade",
        kind="single",
        opens_at=now - timezone.timedelta(days=3),
        closes_at=now - timezone.timedelta(days=1),
        published=True,
    )
    yes = Option.objects.create(poll=poll, label="yes", position=0)
    no = Option.objects.create(poll=poll, label="no", position=1)
    codes = [f"CODE{i:016d}" for i in range(12)]
    for i, code in enumerate(codes):
        Participation.objects.create(poll=poll, voter=None, voter_key=f"key-{i}")
        ballot = Ballot.objects.create(
            poll=poll,
            gu_code=JONGNO,
            age_band=30,
            gender="female",
            channel="app",
            receipt_hash=hashlib.sha256(code.encode()).hexdigest(),
        )
        BallotChoice.objects.create(ballot=ballot, option=yes if i % 3 else no)
        TallyCell.objects.create(
            poll=poll, slot=i % 16, dimension="", value="", option_id=0, count=1
        )

    _migrate(AFTER)
    # The rest of the way, so the product's models (the counter's) match the tables again; the
    # later migrations leave the sealed envelopes as 0006 wrote them.
    _migrate_to_latest()

    assert Envelope.objects.filter(poll_id=poll.pk).count() == 12
    assert count_now() == 12
    assert not Envelope.objects.exists()
    counted = tallies.read(poll.pk).overall
    assert counted.ballots == 12
    assert counted.votes == {yes.pk: 8, no.pk: 4}
    # Every old receipt still finds its ballot: the tracker is the hash the old table kept.
    trackers = {hashlib.sha256(code.encode()).hexdigest() for code in codes}
    assert set(BoardTracker.objects.values_list("tracker", flat=True)) == trackers
    assert_box_consistent([poll.pk])
