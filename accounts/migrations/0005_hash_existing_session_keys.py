"""Sessions made before keys were stored hashed keep working: their keys become digests.

Without this every citizen would log in again after the upgrade — one SMS each, which the city
pays for and the SMS budget would refuse at city scale. Old keys are Django's 32 characters; the
digests are 40 hex characters, so a row is converted once, and running this again changes nothing.
"""

from django.db import migrations

BATCH = 5000


def hash_keys(apps, schema_editor):
    from accounts.sessions import stored_key

    connection = schema_editor.connection
    for table in ("django_session", "usersessions_usersession"):
        if table not in connection.introspection.table_names():
            continue
        quoted = connection.ops.quote_name(table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT session_key FROM {quoted} WHERE length(session_key) = 32")  # noqa: S608
            keys = [row[0] for row in cursor.fetchall()]
            for start in range(0, len(keys), BATCH):
                cursor.executemany(
                    f"UPDATE {quoted} SET session_key = %s WHERE session_key = %s",  # noqa: S608
                    [(stored_key(key), key) for key in keys[start : start + BATCH]],
                )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_profile_history_and_change_requests"),
        ("sessions", "0001_initial"),
        ("usersessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(hash_keys, migrations.RunPython.noop)]
