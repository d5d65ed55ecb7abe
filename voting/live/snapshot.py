"""What every live message holds: a poll's full current state, the same for every dashboard."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime

from voting import evidence, results, tallies
from voting.models import Poll


def group_name(poll_id: int) -> str:
    return f"poll-{poll_id}"


def interval() -> float:
    """At most one message per poll per this many seconds, in each direction."""
    return settings.LIVE_MIN_INTERVAL


def parse_instant(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _local(instant: datetime) -> str:
    # As the REST API writes times (TIME_ZONE, Asia/Seoul: +09:00), not as the database holds them.
    return timezone.localtime(instant, timezone.get_default_timezone()).isoformat()


def snapshot(poll_id: int) -> dict[str, Any]:
    """The full live message for one poll: status, totals and suppressed breakdowns."""
    poll = Poll.objects.select_related("count_state").prefetch_related("options").get(pk=poll_id)
    # Whoever builds it (a ballot request in English, a socket in Korean), every dashboard gets
    # the same message: labels in the default language, codes beside them for clients to localise.
    with translation.override(settings.LANGUAGE_CODE):
        document = results.build(poll, tallies.read(poll_id), evidence=evidence.published(poll))
    return {
        "type": "tally",
        "poll": poll.pk,
        "title": poll.title,
        "status": document["status"],
        "opens_at": _local(poll.opens_at),
        "closes_at": _local(poll.closes_at),
        "results_published": poll.results_published_at is not None,
        "total": document["total"],
        "withheld": document["withheld"],
        "batch_min": document["batch_min"],
        "note": document["note"],
        "options": [
            {"id": o["id"], "label": o["label"], "votes": o["votes"], "share": o["share"]}
            for o in document["options"]
        ],
        "breakdown": document["breakdown"],
        # The results of ranked and score questions and, once final, the evidence: as the API's.
        "kind": document["kind"],
        "ranked": document["ranked"],
        "scores": document["scores"],
        "evidence": document["evidence"],
    }
