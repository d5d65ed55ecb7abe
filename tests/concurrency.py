"""Running requests at the same instant, each on its own thread and database connection."""

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_at_once(jobs: Sequence[Callable[[], T]], *, timeout: float = 120) -> list[T]:
    """Start every job at the same instant, each on its own thread and connection; their
    results in order. A job that raised fails the caller's test with the first three errors."""
    barrier = threading.Barrier(len(jobs))
    results: list[T | BaseException | None] = [None] * len(jobs)

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
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), f"jobs still running after {timeout}s"
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    return results  # type: ignore[return-value]  # no error left: every slot holds a T
