"""Running requests at the same instant, each on its own thread and database connection."""

import threading
from collections.abc import Callable

from django.db import connection


def run_at_once(jobs: list[Callable[[], int]]) -> list[int]:
    """Start every job at the same instant, each on its own thread and connection."""
    barrier = threading.Barrier(len(jobs))
    results: list[int | BaseException] = [0] * len(jobs)

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = jobs[index]()
        except BaseException as exc:
            results[index] = exc
        finally:
            connection.close()  # give the connection back to the pool

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    return results  # type: ignore[return-value]
