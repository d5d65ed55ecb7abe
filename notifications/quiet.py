"""Quiet hours: no pushes at night (Seoul time). The inbox fills as usual; the phones buzz in the
morning, when the outbox scan finds the pushes still waiting.

Korean law asks for separate consent before advertising texts between 21:00 and 08:00; civic
notices are not advertising, but citizens expect the same courtesy from their city.
"""

from datetime import datetime

from django.conf import settings
from django.utils import timezone


def hours() -> tuple[int, int] | None:
    """(start, end) hours of ``NOTIFY_QUIET_HOURS`` ("21-8"); ``None`` when it is empty."""
    value = (settings.NOTIFY_QUIET_HOURS or "").strip()
    if not value:
        return None
    start, end = (int(part) for part in value.split("-"))
    return start % 24, end % 24


def is_quiet(now: datetime | None = None) -> bool:
    window = hours()
    if window is None:
        return False
    start, end = window
    hour = timezone.localtime(now or timezone.now()).hour
    if start <= end:
        return start <= hour < end
    return hour >= start or hour < end  # across midnight
