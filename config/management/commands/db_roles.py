"""The server's database role: data rights only (``manage.py db_roles``, PostgreSQL).

Run as the role that owns the tables (the one ``migrate`` runs as), after every ``migrate``:
it creates the server's role if missing and (re)grants exactly what the running app needs —
SELECT, INSERT, UPDATE, DELETE on the tables, USAGE and SELECT on the sequences — and nothing
else: no TRUNCATE, REFERENCES or TRIGGER, no CREATE in the schema, and it owns nothing, so it
cannot ALTER (``DISABLE TRIGGER``), DROP or TRUNCATE a table. The audit log is SELECT and INSERT
only. Default privileges make tables the owner creates later follow; re-running is harmless.

What the running app does needs no more: advisory locks, LISTEN/NOTIFY and ``SELECT 1`` need no
grant; the counter DELETEs sealed envelopes; sessions, allauth, the outbox and Celery write rows.
"""

import os
import re

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from psycopg import sql

# Tables the server may read and append to, never change: the audit log's trigger (created by
# voting/migrations/0002, renamed with the table by audit/migrations/0001) refuses UPDATE and
# DELETE as well, and its owner alone could disable it.
APPEND_ONLY_TABLES = ("audit_auditentry",)
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Command(BaseCommand):
    help = (
        "Create or refresh the server's PostgreSQL role with data rights only (run as the "
        "tables' owner after migrate). The server then connects as --app-role."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--app-role",
            default=os.environ.get("DATABASE_APP_ROLE", "mvoting_app"),
            help="the server's role (default: $DATABASE_APP_ROLE or mvoting_app)",
        )
        parser.add_argument(
            "--password-env",
            default="DATABASE_APP_PASSWORD",
            metavar="VARIABLE",
            help=(
                "environment variable holding the role's password, set when present "
                "(default DATABASE_APP_PASSWORD; never printed)"
            ),
        )

    def handle(self, *args, app_role: str, password_env: str, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("db_roles is for PostgreSQL (DATABASE_URL=postgres://...)")
        if not _ROLE_NAME.match(app_role):
            raise CommandError("--app-role must be a lower-case identifier (letters, digits, _)")
        password = os.environ.get(password_env, "")
        with transaction.atomic(), connection.cursor() as cursor:
            summary = apply_roles(cursor, app_role=app_role, password=password)
        self.stdout.write(
            f"role {app_role}: data rights on {summary['tables']} tables and "
            f"{summary['sequences']} sequences of schema {summary['schema']} (owner "
            f"{summary['owner']}); append-only: {', '.join(APPEND_ONLY_TABLES)}"
            + ("; password set" if password else "")
        )


def apply_roles(cursor, *, app_role: str, password: str = "") -> dict[str, object]:
    """Create or refresh ``app_role`` in the current database; refuses a role that could do
    more than data work (superuser, owner of anything, member of the owner)."""
    cursor.execute("SELECT current_user, current_schema(), current_database()")
    owner, schema, database = cursor.fetchone()
    if app_role == owner:
        raise CommandError(
            f"--app-role {app_role} is the role running this (the owner): give the server its own"
        )
    app, own, sch, db = (sql.Identifier(name) for name in (app_role, owner, schema, database))

    cursor.execute(
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
        "FROM pg_roles WHERE rolname = %s",
        [app_role],
    )
    row = cursor.fetchone()
    if row is None:
        # NOINHERIT: whatever roles it is ever granted, it works with its own rights only.
        _run(cursor, sql.SQL("CREATE ROLE {} LOGIN NOINHERIT").format(app))
    elif any(row):
        raise CommandError(
            f"role {app_role} may create databases or roles, replicate, bypass row security or "
            "is a superuser: the server's role must hold none of these"
        )
    if password:
        # On the driver's own cursor: Django's would keep the statement in its query log.
        with connection.connection.cursor() as raw:
            raw.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(app, sql.Literal(password)))
    cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [app_role, owner])
    if cursor.fetchone()[0]:
        raise CommandError(f"role {app_role} is a member of {owner}: it would act as the owner")
    owned = _owned_by(cursor, app_role)
    if owned:
        raise CommandError(
            f"role {app_role} owns {', '.join(owned[:5])}: as the owner run "
            f'REASSIGN OWNED BY {app_role} TO "{owner}", then this again'
        )

    statements = [
        "GRANT CONNECT ON DATABASE {db} TO {app}",
        # PostgreSQL before 15 lets everyone create objects in ``public``.
        "REVOKE CREATE ON SCHEMA {sch} FROM PUBLIC",
        "REVOKE CREATE ON SCHEMA {sch} FROM {app}",
        "GRANT USAGE ON SCHEMA {sch} TO {app}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {sch} TO {app}",
        "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {sch} FROM {app}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {sch} TO {app}",
        "REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA {sch} FROM {app}",
        # Tables and sequences the owner creates later (the next migrate) follow.
        "ALTER DEFAULT PRIVILEGES FOR ROLE {own} IN SCHEMA {sch} "
        "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
        "ALTER DEFAULT PRIVILEGES FOR ROLE {own} IN SCHEMA {sch} "
        "GRANT USAGE, SELECT ON SEQUENCES TO {app}",
    ]
    for statement in statements:
        _run(cursor, sql.SQL(statement).format(app=app, own=own, sch=sch, db=db))
    for table in APPEND_ONLY_TABLES:
        if _table_exists(cursor, schema, table):
            _run(
                cursor,
                sql.SQL("REVOKE UPDATE, DELETE ON {}.{} FROM {}").format(
                    sch, sql.Identifier(table), app
                ),
            )

    cursor.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = %s",
        [schema],
    )
    tables = cursor.fetchone()[0]
    cursor.execute(
        "SELECT count(*) FROM pg_sequences WHERE schemaname = %s",
        [schema],
    )
    sequences = cursor.fetchone()[0]
    return {"owner": owner, "schema": schema, "tables": tables, "sequences": sequences}


def _run(cursor, statement: sql.Composed) -> None:
    # Rendered with the connection's quoting; no parameters, so a "%" in a password is text.
    cursor.execute(statement.as_string(connection.connection))


def _owned_by(cursor, role: str) -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
        "WHERE r.rolname = %s "
        "UNION ALL SELECT n.nspname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner "
        "WHERE r.rolname = %s "
        "UNION ALL SELECT p.proname FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner "
        "WHERE r.rolname = %s "
        "UNION ALL SELECT d.datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba "
        "WHERE r.rolname = %s",
        [role, role, role, role],
    )
    return [name for (name,) in cursor.fetchall()]


def _table_exists(cursor, schema: str, table: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s", [schema, table]
    )
    return cursor.fetchone() is not None
