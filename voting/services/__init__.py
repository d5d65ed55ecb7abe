"""Officials' writes on polls, one module per seam: ``lifecycle`` (publish, unpublish, close,
publish results, delete a draft, duplicate), ``outcomes``, ``snapshots`` (the audit side) and
``errors``. The names below are re-exported because tests, the demo seed and the benchmark call
``voting.services.<name>`` in many places; code inside voting imports the modules themselves."""

from voting.services.errors import (
    PollAlreadyClosed,
    PollAlreadyOpened,
    PollAlreadyPublished,
    PollNotClosed,
    ResultsNotReady,
)
from voting.services.lifecycle import (
    close_poll,
    delete_draft,
    duplicate_poll,
    has_ballots,
    publish_poll,
    publish_results,
    unpublish_poll,
)
from voting.services.outcomes import record_outcome
from voting.services.snapshots import poll_snapshot, record_creation, record_edit, record_poll

__all__ = [
    "PollAlreadyClosed",
    "PollAlreadyOpened",
    "PollAlreadyPublished",
    "PollNotClosed",
    "ResultsNotReady",
    "close_poll",
    "delete_draft",
    "duplicate_poll",
    "has_ballots",
    "poll_snapshot",
    "publish_poll",
    "publish_results",
    "record_creation",
    "record_edit",
    "record_outcome",
    "record_poll",
    "unpublish_poll",
]
