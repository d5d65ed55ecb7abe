# The audit log is the audit app's now (audit/migrations/0001 renamed the table and took the
# model over): voting forgets the model, and the database is left as it is.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("voting", "0007_audit_chain"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEntry")],
        ),
    ]
