"""The embedded default's task runner: Celery beat and the ballot counter on threads of the server.

Without a broker (no ``REDIS_URL``) Celery runs tasks eagerly, in the process that sends them.
Beat, on a daemon thread here, then runs every job of ``CELERY_BEAT_SCHEDULE`` itself: poll
openings, closing reminders, proposal expiry and every pending fan-out are done by this thread,
never by the web request that caused them. The ballot counter
(voting/counting.py) runs on a thread of its own. With Redis, the `worker`, `beat` and `counter`
services of docker-compose do this instead, and this module stays off.
"""

import logging
import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_service = None


def _release_connection(**_kwargs) -> None:
    # Workers have Celery's Django fix-up for this; the scheduler thread has only this hook.
    if threading.current_thread().name == "Beat":
        from django.db import close_old_connections

        close_old_connections()


def start() -> bool:
    """Start the scheduler thread once per process; ``False`` when it is not this process's job."""
    global _service
    from config.celery import app

    if not app.conf.task_always_eager:
        logger.warning("TASKS_IN_PROCESS ignored: a broker is configured, run Celery workers")
        return False
    with _lock:
        if _service is not None:
            return False
        from celery.beat import EmbeddedService
        from celery.signals import task_postrun

        # Beat hands a task it does not know to the broker, where, in process, nothing runs it:
        # import every app's tasks.py (as a worker does) and refuse a schedule naming another.
        app.autodiscover_tasks(force=True)
        unknown = scheduled_tasks() - set(app.tasks)
        if unknown:
            raise ImproperlyConfigured(f"CELERY_BEAT_SCHEDULE names unknown tasks: {unknown}")
        task_postrun.connect(_release_connection, weak=False)
        # Celery's Service defaults to the shelve-backed scheduler, not the configured one.
        _service = EmbeddedService(app, thread=True, scheduler_cls=app.conf.beat_scheduler)
        _service.start()
    logger.info("in-process tasks: %s", ", ".join(sorted(scheduled_tasks())))
    return True


def scheduled_tasks() -> set[str]:
    """The names of the tasks ``CELERY_BEAT_SCHEDULE`` runs."""
    return {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


_counter: threading.Thread | None = None


def start_counter() -> bool:
    """Run the ballot counter on a daemon thread of this process, once."""
    global _counter
    with _lock:
        if _counter is not None:
            return False
        from voting import counting

        _counter = threading.Thread(target=counting.run_forever, name="Counter", daemon=True)
        _counter.start()
    return True
