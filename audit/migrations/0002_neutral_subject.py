# The audit log's subject becomes neutral: (subject_type, subject_id, title), no reference to
# voting's polls. Every entry keeps verifying: the chain hashes "poll_id", now computed as
# ``subject_id if subject_type == "poll" else None`` (audit/chain.py). That holds for an old entry
# only if its poll column said exactly that, so it is checked over every row first; one row that
# breaks it stops the migration before anything changes (dropping the column would make that
# entry fail verify_audit forever).

from django.db import migrations
from django.db.models import F

# Going back refills the poll column, which the append-only trigger refuses: off for this
# transaction only (ALTER TABLE holds the table exclusively meanwhile).
DISABLE = "ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_append_only"
ENABLE = "ALTER TABLE audit_auditentry ENABLE TRIGGER audit_auditentry_append_only"


def _poll_of(subject_type, subject_id):
    return subject_id if subject_type == "poll" else None


def check_poll_is_the_subject(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    rows = (
        AuditEntry.objects.using(schema_editor.connection.alias)
        .order_by("seq")
        .values_list("id", "seq", "subject_type", "subject_id", "poll_id")
    )
    broken = [
        f"id {pk} (seq {seq}): subject {subject_type} #{subject_id}, poll {poll_id}"
        for pk, seq, subject_type, subject_id, poll_id in rows.iterator(chunk_size=2000)
        if poll_id != _poll_of(subject_type, subject_id)
    ]
    if broken:
        raise RuntimeError(
            f"{len(broken)} audit entries name a poll that is not their subject, so they would no "
            "longer verify once the poll column is dropped. Nothing was changed. First ones: "
            + "; ".join(broken[:10])
        )


def refill_poll(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(DISABLE)
    entries = AuditEntry.objects.using(schema_editor.connection.alias)
    # The historical model's plain manager: the app's refusing queryset is not used here.
    entries.filter(subject_type="poll").update(poll_id=F("subject_id"))
    if postgres:
        schema_editor.execute(ENABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(check_poll_is_the_subject, refill_poll),
        migrations.RemoveField(model_name="auditentry", name="poll"),
        migrations.RenameField(model_name="auditentry", old_name="poll_title", new_name="title"),
        migrations.RenameIndex(
            model_name="auditentry",
            new_name="audit_audit_subject_428d52_idx",
            old_name="voting_audi_subject_2c9405_idx",
        ),
    ]
