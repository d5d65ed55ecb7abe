"""The ready-made "official" role: a Django auth group with the permissions officials need."""

from django.contrib.auth.models import Group as AuthGroup
from django.contrib.auth.models import Permission
from django.db import connection

OFFICIAL_GROUP = "official"

# app_label → codenames. Apps add theirs as they grow (polls, results, audit log...).
OFFICIAL_PERMISSIONS: dict[str, list[str]] = {
    # Officials read citizens' accounts and ask for changes; a second official decides
    # (accounts/officials.py). Nobody edits a citizen directly.
    "accounts": [
        "view_user",
        "view_citizenchangerequest",
        "add_citizenchangerequest",
        "decide_citizenchangerequest",
    ],
    "districts": [
        "view_district",
        "view_group",
        "add_group",
        "change_group",
        "view_pendinggroupmember",
        "add_pendinggroupmember",
        "delete_pendinggroupmember",
    ],
    "voting": [
        "view_poll",
        "add_poll",
        "change_poll",
        "delete_poll",  # drafts only (the admin refuses published polls); audited
        "view_option",
        "add_option",
        "change_option",
        "delete_option",
        "view_pollimage",
        "add_pollimage",
        "change_pollimage",
        "delete_pollimage",
        "view_category",
        "view_outcome",
        "add_outcome",
        "change_outcome",
        # On-site sessions (onsite/): a booth and its QR screen for a poll of their own.
        "view_onsitesession",
        "add_onsitesession",
        "change_onsitesession",
        "delete_onsitesession",
    ],
    # Moderation: officials decide on proposals and hide comments (through the services).
    "proposals": ["view_proposal", "change_proposal", "view_proposaloption", "view_proposalimage"],
    "discussion": ["view_comment", "change_comment", "view_commentreport"],
    "notifications": ["view_outboxevent"],
    "audit": ["view_auditentry"],
}


# Editing a citizen's account directly: replaced by change requests two officials decide.
RETIRED_PERMISSIONS: dict[str, list[str]] = {"accounts": ["change_user"]}


def ensure_official_group(**_kwargs) -> AuthGroup | None:
    """Create or complete the group; runs after every migrate, so it follows new permissions.

    A partial migrate (``migrate voting 0006`` on an empty database) may not have made the auth
    tables yet: then there is nothing to complete, and the next full migrate does it.
    """
    tables = connection.introspection.table_names()
    if AuthGroup._meta.db_table not in tables or Permission._meta.db_table not in tables:
        return None
    group, _created = AuthGroup.objects.get_or_create(name=OFFICIAL_GROUP)
    wanted = Permission.objects.none()
    for app_label, codenames in OFFICIAL_PERMISSIONS.items():
        wanted |= Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
    group.permissions.add(*wanted)
    # Powers the role no longer carries are taken back from existing installations too.
    retired = Permission.objects.none()
    for app_label, codenames in RETIRED_PERMISSIONS.items():
        retired |= Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
    group.permissions.remove(*retired)
    return group
