# The audit log becomes a keyed hash chain (audit/chain.py): entries are numbered, linked to the
# one before and hashed with AUDIT_CHAIN_KEY. The entries written before are chained here, in the
# order they were written (id). Subjects and actions for officials' powers over citizens, groups
# and Django's admin history.

import hashlib
import hmac
import json
from datetime import UTC

from django.conf import settings
from django.db import migrations, models

# The append-only trigger (0002) refuses the UPDATE that numbers and hashes the old entries. This
# migration runs as the tables' owner, in one transaction: the trigger is off for that transaction
# only, and nothing else can write the table meanwhile (ALTER TABLE holds it exclusively).
DISABLE = "ALTER TABLE voting_auditentry DISABLE TRIGGER voting_auditentry_append_only"
ENABLE = "ALTER TABLE voting_auditentry ENABLE TRIGGER voting_auditentry_append_only"


# The chain's hashing as it was when this ran (the log lives in audit/chain.py now, without the
# poll column): frozen here, so this migration hashes the same whatever the app's code becomes.
GENESIS = "0" * 64


def content_of(entry):
    return {
        "seq": entry.seq,
        "at": entry.at.astimezone(UTC).isoformat(),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "poll_id": entry.poll_id,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "title": entry.poll_title,
        "action": entry.action,
        "changes": entry.changes,
    }


def entry_hash(*, prev_hash, content):
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    message = prev_hash.encode() + b"\n" + canonical.encode()
    return hmac.new(settings.AUDIT_CHAIN_KEY.encode(), message, hashlib.sha256).hexdigest()


def chain_existing(apps, schema_editor):
    AuditEntry = apps.get_model("voting", "AuditEntry")
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(DISABLE)
    prev_hash = GENESIS
    for seq, entry in enumerate(AuditEntry.objects.order_by("id").iterator(chunk_size=2000), 1):
        entry.seq = seq
        entry.prev_hash = prev_hash
        # What the chain covers is what the database gives back (JSON and times as stored).
        entry.hash = entry_hash(prev_hash=prev_hash, content=content_of(entry))
        AuditEntry.objects.filter(pk=entry.pk).update(seq=seq, prev_hash=prev_hash, hash=entry.hash)
        prev_hash = entry.hash
    if postgres:
        schema_editor.execute(ENABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("voting", "0006_secret_ballot"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="auditentry",
            options={
                "ordering": ["-seq"],
                "verbose_name": "audit log entry",
                "verbose_name_plural": "audit log",
            },
        ),
        migrations.AddField(
            model_name="auditentry",
            name="seq",
            field=models.BigIntegerField(editable=False, null=True, verbose_name="sequence"),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="prev_hash",
            field=models.CharField(
                default="", editable=False, max_length=64, verbose_name="previous hash"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditentry",
            name="hash",
            field=models.CharField(default="", editable=False, max_length=64, verbose_name="hash"),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditentry",
            name="seq",
            field=models.BigIntegerField(editable=False, unique=True, verbose_name="sequence"),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("create", "created"),
                    ("edit", "edited"),
                    ("publish", "published"),
                    ("unpublish", "unpublished"),
                    ("close", "closed early"),
                    ("publish_results", "published results"),
                    ("duplicate", "duplicated"),
                    ("outcome", "recorded the outcome"),
                    ("delete", "deleted (draft)"),
                    ("accept", "accepted"),
                    ("reject", "rejected"),
                    ("hide", "hidden"),
                    ("unhide", "shown again"),
                    ("request_verification", "asked for resident verification"),
                    ("approve_verification", "approved resident verification"),
                    ("reject_verification", "refused resident verification"),
                    ("request_change", "asked for a change to a citizen"),
                    ("approve_change", "approved a change to a citizen"),
                    ("reject_change", "refused a change to a citizen"),
                    ("change_phone", "phone number changed by its holder"),
                    ("replace_members", "replaced the members"),
                    ("admin_log", "admin history entry"),
                ],
                editable=False,
                max_length=32,
                verbose_name="action",
            ),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="subject_type",
            field=models.CharField(
                choices=[
                    ("poll", "poll"),
                    ("proposal", "proposal"),
                    ("comment", "comment"),
                    ("citizen", "citizen"),
                    ("group", "citizen group"),
                    ("admin", "admin history"),
                ],
                default="poll",
                editable=False,
                max_length=16,
                verbose_name="subject",
            ),
        ),
    ]
