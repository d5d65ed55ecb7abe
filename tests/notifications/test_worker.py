"""Real Celery workers on Redis and PostgreSQL, killed in the middle of a push batch.

The promise: a worker killed at any point loses nothing and writes no inbox row twice; the next
worker resumes from what was committed. What a killed worker had already handed to the provider
in its unfinished batch goes out again with the same keys, which the provider collapses
(notifications/push.py); the test shows that this is the only repetition.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import User
from notifications.models import Notification, OutboxEvent
from tests.factories import PollFactory
from tests.reliability.conftest import size
from tests.reliability.servers import server_environment
from voting import services

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

CELERY = Path(sys.executable).parent / "celery"
CITIZENS = size(ci=2_000, stress=50_000)  # `make stress`: the large version
PUSH_BATCH = 100


def _citizens(count: int) -> None:
    User.objects.bulk_create(
        [
            User(phone=f"+8210{7_000_0000 + i:08d}", phone_verified=True, verification=10)
            for i in range(count)
        ],
        batch_size=1000,
    )


class Worker:
    def __init__(self, name: str, record: Path, prefix: str) -> None:
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in stop())
            prefix=f"celery-{name}-", suffix=".log", delete=False
        )
        env = server_environment(
            REDIS_URL=os.environ["REDIS_URL"],
            CELERY_BROKER_URL=os.environ["REDIS_URL"],
            CELERY_TASK_ALWAYS_EAGER="false",
            CELERY_KEY_PREFIX=prefix,
            # The first worker's unacknowledged task must not come back by itself during the
            # test: resuming is the scan's job, which is what the test is about.
            CELERY_VISIBILITY_TIMEOUT="3600",
            NOTIFY_SCAN_SECONDS="1",
            NOTIFY_QUIET_HOURS="",  # whatever the hour in Seoul
            NOTIFY_FANOUT_BATCH="500",
            NOTIFY_PUSH_BATCH=str(PUSH_BATCH),
            PUSH_BACKEND="tests.notifications.recording.FilePushBackend",
            PUSH_RECORD_PATH=str(record),
            PUSH_RECORD_DELAY="0.002" if CITIZENS <= 10_000 else "0.0002",
        )
        # A worker with beat inside it, so the scan runs as in production (there: `beat`).
        command = [
            str(CELERY), "-A", "config", "worker", "--beat", "--pool=solo",
            "--scheduler=celery.beat:Scheduler", "--loglevel=WARNING",
            "--without-gossip", "--without-mingle",
            f"--hostname={name}-{prefix}@%h",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _wait(condition, timeout: float, worker: Worker, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if worker.process.poll() is not None:
            pytest.fail(f"the worker exited ({worker.process.returncode}):\n{worker.output()}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}:\n{worker.output()}")


def test_a_worker_killed_mid_batch_is_resumed_without_losses_or_duplicates(tmp_path):
    _citizens(CITIZENS)
    poll = PollFactory(published=False)
    services.publish_poll(poll=poll, by=None)  # commits the event; the scan finds it
    event = OutboxEvent.objects.get()
    record = tmp_path / "pushed.txt"
    prefix = f"test-{uuid.uuid4().hex[:8]}:"

    first = Worker("first", record, prefix)
    try:
        # Kill it with a few batches committed and one half-sent.
        _wait(
            lambda: len(_lines(record)) // 2 >= 5 * PUSH_BATCH + PUSH_BATCH // 2,
            90,
            first,
            "the first worker to push",
        )
        first.kill()
    finally:
        first.stop()
    sent_by_first = len(_lines(record)) // 2
    committed = Notification.objects.filter(event=event, pushed_at__isnull=False).count()
    assert 0 < committed < CITIZENS, "the kill must land in the middle of the delivery"
    assert sent_by_first > committed, "and in the middle of a batch"

    second = Worker("second", record, prefix)
    try:
        _wait(
            lambda: (
                not Notification.objects.filter(event=event, pushed_at__isnull=True).exists()
                and Notification.objects.filter(event=event).count() == CITIZENS
            ),
            120,
            second,
            "the second worker to finish",
        )
    finally:
        second.stop()

    rows = dict(Notification.objects.filter(event=event).values_list("pk", "user_id"))
    # The inbox: every citizen exactly once.
    assert sorted(rows.values()) == sorted(User.objects.values_list("pk", flat=True))
    event.refresh_from_db()
    assert event.recipients == CITIZENS and event.fanned_out_at is not None

    words = _lines(record)
    sent = Counter(zip(words[::2], words[1::2], strict=True))
    # Nothing lost: every row reached the provider, under its own key, for its own citizen.
    assert set(sent) == {(f"n{pk}", str(user_id)) for pk, user_id in rows.items()}
    # Repeated only what the killed worker had sent in the batch it never committed, once more.
    repeated = {key for key, times in sent.items() if times > 1}
    assert set(sent.values()) <= {1, 2}
    assert len(repeated) == sent_by_first - committed
    assert 0 < len(repeated) < PUSH_BATCH
