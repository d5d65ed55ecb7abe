"""Load Seoul's administrative areas (2025-07-01) so every database, test databases included, has them.

The loader is imported from the app rather than copied here: it works on the historical model it is
given, and reads a dated file that is never edited in place (a later revision ships as a new file
and a new migration or `import_districts` run).
"""

from django.db import migrations


def load_seoul(apps, schema_editor):
    from districts.loaders import load_seoul as load

    load(model=apps.get_model("districts", "District"), using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("districts", "0001_initial"),
    ]

    operations = [
        # Reverse is a no-op: the rows may already be referenced (residences, polls, ballots).
        migrations.RunPython(load_seoul, migrations.RunPython.noop, elidable=False),
    ]
