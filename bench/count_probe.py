"""One counter process, timed: ``python -m bench.count_probe [--wait]`` (the counting scenario runs
it; with ``--wait`` it sets up, prints ``READY`` and counts on a line from stdin).

What ``manage.py count_ballots --once`` runs — ``voting.counting.count_all`` with a real
``sealing.Counter`` (the private keys from the environment) — timed from inside the process, so
Django's start-up is reported apart. Prints one line: ``COUNTED {json}``.
"""

import json
import os
import sys
import time


def main() -> int:
    started = time.perf_counter()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    from voting import counting, sealing

    counter = sealing.Counter()
    set_up = time.perf_counter()
    if "--wait" in sys.argv:
        # Started ahead (Django's start-up overlaps the loading of the envelopes): go on "GO".
        print("READY", flush=True)
        sys.stdin.readline()
    backend = _backend_pid()
    backend_cpu0 = _cpu_seconds(backend)
    ready = time.perf_counter()
    cpu0 = time.process_time()
    counted = counting.count_all(counter=counter)
    seconds = time.perf_counter() - ready
    cpu = time.process_time() - cpu0
    backend_cpu = _cpu_seconds(backend) - backend_cpu0 if _backend_pid() == backend else None
    print(
        "COUNTED "
        + json.dumps(
            {
                "counted": counted,
                "seconds": round(seconds, 3),
                "cpu_s": round(cpu, 3),
                # The PostgreSQL backend serving this process (same machine: /proc).
                "backend_cpu_s": round(backend_cpu, 3) if backend_cpu is not None else None,
                "startup_s": round(set_up - started, 3),
                "batch_max": settings.BALLOT_BATCH_MAX,
                "batch_min": settings.BALLOT_BATCH_MIN,
            }
        ),
        flush=True,
    )
    return 0


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _cpu_seconds(pid: int) -> float:
    from bench.infra import proc_cpu_seconds

    return proc_cpu_seconds(pid)


if __name__ == "__main__":
    sys.exit(main())
