"""Proposals' hidden fields move to moderation.Hideable: the same columns, the reason at most 500
characters (it was 1000). A longer reason is shortened first, so the column shrinks on PostgreSQL
too instead of the migration failing; shorter ones are kept as they were."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("proposals", "0001_initial")]
AFTER = [("proposals", "0002_hideable")]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_long_reasons_are_shortened_and_the_others_kept():
    executor = _migrate(BEFORE)
    Proposal = executor.loader.project_state(BEFORE).apps.get_model("proposals", "Proposal")
    now = timezone.now()
    fields = {"description": "설명", "duration_days": 7, "support_deadline": now}
    long_one = Proposal.objects.create(
        title="긴 사유", hidden_at=now, hidden_reason="가" * 900, **fields
    )
    short_one = Proposal.objects.create(
        title="짧은 사유", hidden_at=now, hidden_reason="개인정보 노출", **fields
    )
    shown = Proposal.objects.create(title="공개", **fields)

    _migrate(AFTER)

    from proposals.models import Proposal as Current

    long_reason = Current.objects.get(pk=long_one.pk).hidden_reason
    assert long_reason == "가" * 499 + "…"
    assert Current.objects.get(pk=short_one.pk).hidden_reason == "개인정보 노출"
    assert list(Current.objects.visible().values_list("pk", flat=True)) == [shown.pk]
