"""gunicorn's settings for the `web` service: Prometheus's multiprocess mode for its workers.

Each worker is a process with its own memory: its metrics go to memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR``, and a scrape of /metrics (answered by any worker) sums them
(config/metrics.py). The directory is emptied when the server starts — a restarted container must
not add the last run's counts — and a worker's files are marked dead when it exits, so its open
WebSockets gauge stops counting. Used as ``gunicorn -c config/gunicorn.py``.
"""

import os
import shutil

# Before any worker imports prometheus_client: it picks its storage at import.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/mvoting-metrics")  # noqa: S108 - the container's own /tmp


def on_starting(server: object) -> None:
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def child_exit(server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
