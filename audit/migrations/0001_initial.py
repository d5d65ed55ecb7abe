# The audit log moves out of voting into its own app, rows and chain untouched: the table is
# renamed (voting_auditentry → audit_auditentry), and on PostgreSQL its append-only trigger, the
# trigger's function and the id sequence follow the new name. The model is taken over as it was
# (voting/migrations/0008 drops it from voting's state); 0002 makes its subject neutral.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _rename_postgres_objects(schema_editor, *, old: str, new: str) -> None:
    """The trigger, its function and the id sequence of the table, renamed from ``old``'s names
    to ``new``'s. The table is audit_auditentry whenever this runs: renamed just before going
    forward, renamed back just after going backward."""
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite has no trigger (the model refuses changes) and names no sequence
    schema_editor.execute(
        f"ALTER TRIGGER {old}_append_only ON audit_auditentry RENAME TO {new}_append_only"
    )
    schema_editor.execute(f"ALTER FUNCTION {old}_append_only() RENAME TO {new}_append_only")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('audit_auditentry', 'id')")
        (sequence,) = cursor.fetchone()
    if sequence and sequence.split(".")[-1] == f"{old}_id_seq":
        schema_editor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {new}_id_seq")


def rename_to_audit(apps, schema_editor):
    _rename_postgres_objects(schema_editor, old="voting_auditentry", new="audit_auditentry")


def rename_to_voting(apps, schema_editor):
    _rename_postgres_objects(schema_editor, old="audit_auditentry", new="voting_auditentry")


def move_content_type(apps, schema_editor, source="voting", target="audit"):
    """Permissions (the official role's ``view_auditentry``) and admin history hang on the
    content type: moving it keeps every grant."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    if types.filter(app_label=target, model="auditentry").exists():
        return
    types.filter(app_label=source, model="auditentry").update(app_label=target)


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, source="audit", target="voting")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("voting", "0007_audit_chain"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEntry",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "seq",
                            models.BigIntegerField(
                                editable=False, unique=True, verbose_name="sequence"
                            ),
                        ),
                        (
                            "prev_hash",
                            models.CharField(
                                editable=False, max_length=64, verbose_name="previous hash"
                            ),
                        ),
                        (
                            "hash",
                            models.CharField(editable=False, max_length=64, verbose_name="hash"),
                        ),
                        (
                            "at",
                            models.DateTimeField(
                                db_index=True,
                                default=django.utils.timezone.now,
                                editable=False,
                                verbose_name="at",
                            ),
                        ),
                        (
                            "actor",
                            models.ForeignKey(
                                db_constraint=False,
                                editable=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="official",
                            ),
                        ),
                        (
                            "actor_name",
                            models.CharField(
                                editable=False, max_length=150, verbose_name="official"
                            ),
                        ),
                        (
                            "poll",
                            models.ForeignKey(
                                db_constraint=False,
                                editable=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="voting.poll",
                                verbose_name="poll",
                            ),
                        ),
                        (
                            "subject_type",
                            models.CharField(
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
                        (
                            "subject_id",
                            models.BigIntegerField(
                                editable=False, null=True, verbose_name="subject id"
                            ),
                        ),
                        (
                            "poll_title",
                            models.CharField(editable=False, max_length=200, verbose_name="title"),
                        ),
                        (
                            "action",
                            models.CharField(
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
                        (
                            "changes",
                            models.JSONField(
                                blank=True, default=dict, editable=False, verbose_name="changes"
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "audit log entry",
                        "verbose_name_plural": "audit log",
                        "ordering": ["-seq"],
                        # The index keeps the name voting gave it until 0002 renames it.
                        "indexes": [
                            models.Index(
                                fields=["subject_type", "subject_id"],
                                name="voting_audi_subject_2c9405_idx",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE voting_auditentry RENAME TO audit_auditentry",
                    "ALTER TABLE audit_auditentry RENAME TO voting_auditentry",
                ),
                migrations.RunPython(rename_to_audit, rename_to_voting),
            ],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
