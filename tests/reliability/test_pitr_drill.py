"""The point-in-time restore drill, as docs/operations/backups.md tells an operator to do it.

The test database is filled by the product's own paths (tests/reliability/drill.py) and carried
by ``deploy/backup.sh`` into a PostgreSQL cluster of the test's own that archives its WAL. There:
a base backup (``pg_basebackup``, the documented command); after it, more of the product's work
(the open poll closes and the counter service counts its last batch); the moment T; then the
damage (a mistaken statement that empties the board's trackers and zeroes the counters). The
server is stopped, its data set aside, the base backup restored with ``recovery_target_time = T``,
and the recovered server must hold exactly the state at T — the batch counted after the base
backup (replayed from the archived WAL) and nothing of the damage — with ``verify_tallies`` and
``verify_audit`` passing on it, as separate processes.
"""

import time
from collections.abc import Iterator

import pytest

from tests.reliability.drill import BACKUP, K, manage_url, ok, product_activity, run
from tests.reliability.pitr import Cluster, server_bin
from tests.reliability.servers import database_url_for_servers

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(server_bin() is None, reason="needs PostgreSQL's server binaries (initdb)"),
]


@pytest.fixture(autouse=True)
def _small_batches(settings):
    settings.BALLOT_BATCH_MIN = K
    settings.BALLOT_BATCH_MAX = 3 * K


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.close()


def test_point_in_time_recovery_returns_the_ballot_box_as_it_was_at_the_target(cluster):
    activity = product_activity()
    dump = cluster.root / "seed.dump"
    ok(run(BACKUP, "dump", database_url_for_servers(), dump))
    cluster.sql("CREATE DATABASE mvoting", dbname="postgres")
    ok(run(BACKUP, "restore", dump, cluster.url()))

    # The nightly base backup.
    base = cluster.root / "base"
    cluster.run(
        "pg_basebackup",
        "--dbname",
        cluster.url("postgres"),
        "--pgdata",
        base,
        "--format=tar",
        "--gzip",
        "--wal-method=stream",
        "--checkpoint=fast",
    )

    # Work after the base backup, which only the archived WAL holds: the open poll closes and
    # the counter service counts its last K envelopes.
    open_ = activity.open_poll
    closing = "UPDATE voting_poll SET closes_at = now() - interval '1 hour' WHERE id = %d"
    cluster.sql(closing % open_)
    assert f"counted {K} ballots" in ok(manage_url(cluster.url(), "count_ballots", "--once"))
    time.sleep(1.0)
    target = cluster.sql("SELECT now()::text")  # the moment to return to
    time.sleep(1.0)

    # The damage: a mistaken statement by someone with write access.
    cluster.sql("DELETE FROM voting_boardtracker; UPDATE voting_tallycell SET count = 0")
    damaged = manage_url(cluster.url(), "verify_tallies")
    assert damaged.returncode == 1, damaged.stdout
    cluster.switch_wal_and_wait_archived()

    # The documented recovery: stop, set the damaged data aside, restore the base backup, replay
    # the archive up to the target, promote.
    cluster.stop()
    cluster.run("mv", cluster.data, cluster.root / "data.damaged")
    cluster.run("mkdir", "-m", "700", cluster.data)
    cluster.run("tar", "-xzf", base / "base.tar.gz", "-C", cluster.data)
    cluster.run("tar", "-xzf", base / "pg_wal.tar.gz", "-C", cluster.data / "pg_wal")
    with open(cluster.data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(
            f"restore_command = 'cp {cluster.archive}/%f %p'\n"
            f"recovery_target_time = '{target}'\n"
            "recovery_target_action = 'promote'\n"
        )
    cluster.run("touch", cluster.data / "recovery.signal")
    cluster.start()
    cluster.wait_promoted()
    assert "recovery stopping before commit" in cluster.log()

    # The state at the target: the batch counted after the base backup is there, the damage not.
    tallies = ok(manage_url(cluster.url(), "verify_tallies"))
    assert f"poll {activity.closed_poll}: ok ({4 * K + 3} ballots counted, 0 sealed" in tallies
    assert f"poll {open_}: ok ({3 * K + 2} ballots counted, 0 sealed" in tallies
    assert "audit log OK" in ok(
        manage_url(cluster.url(), "verify_audit", "--head", activity.audit_head)
    )
    assert cluster.sql("SELECT count(*) FROM voting_boardtracker") == str(7 * K + 5)
