"""Deleting many rows in short transactions, for the housekeeping jobs on the beat schedule.

One ``DELETE`` of a year of expired rows would hold its locks (and, on SQLite, the whole
database's write lock) for as long as it runs, while citizens vote. Here each batch is its own
statement of at most ``batch_size`` rows, and a run stops after ``max_batches``: the next run
goes on where this one stopped, so a backlog is worked off over several runs instead of in one.
"""

from typing import Any

from django.db.models import Model, QuerySet


def delete_in_batches(
    rows: QuerySet[Any], *, batch_size: int, max_batches: int | None = None
) -> int:
    """Delete every row of ``rows``, ``batch_size`` at a time; how many of its model's rows went.

    The condition of ``rows`` is applied again by each ``DELETE``, not only by the ``SELECT``
    that found the batch: a row that stopped matching meanwhile (a session extended, say) stays.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    model: type[Model] = rows.model
    label = model._meta.label
    deleted = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        keys = list(rows.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not keys:
            break
        _total, per_model = rows.filter(pk__in=keys).delete()
        deleted += per_model.get(label, 0)
        batches += 1
        if len(keys) < batch_size:
            break
    return deleted
