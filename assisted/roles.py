"""The call-centre operator's role: an auth group made (and completed) after every migrate.

An operator is a staff account in this group: it signs in through the officials' login (password
and authenticator app, accounts/officials_auth.py) and works only on the /assist/ pages. The
group's one permission, ``assisted.assist_callers``, is what those pages ask for, so a superuser
passes too and an official of the "official" role does not.
"""

from django.contrib.auth.models import Group as AuthGroup
from django.contrib.auth.models import Permission
from django.db import connection

OPERATOR_GROUP = "operator"
OPERATOR_PERMISSION = "assisted.assist_callers"

# What the officials' role gets of this app (added to accounts.roles.OFFICIAL_PERMISSIONS).
OFFICIAL_PERMISSIONS = ["view_visitpin", "add_visitpin", "view_operatoralert"]


def ensure_operator_group(**_kwargs: object) -> AuthGroup | None:
    """The "operator" group with its permission; None before the auth tables exist."""
    tables = connection.introspection.table_names()
    if AuthGroup._meta.db_table not in tables or Permission._meta.db_table not in tables:
        return None
    group, _created = AuthGroup.objects.get_or_create(name=OPERATOR_GROUP)
    app_label, codename = OPERATOR_PERMISSION.split(".")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    )
    return group
