from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AssistedConfig(AppConfig):
    name = "assisted"
    verbose_name = _("Assisted voting (call centre)")

    def ready(self) -> None:
        from accounts import roles
        from assisted.roles import OFFICIAL_PERMISSIONS, ensure_operator_group

        # Officials issue visit-verified PINs and read the operators' alerts: their role's list
        # of permissions is a registry each app adds its own to (accounts/roles.py).
        roles.OFFICIAL_PERMISSIONS.setdefault("assisted", []).extend(
            name
            for name in OFFICIAL_PERMISSIONS
            if name not in roles.OFFICIAL_PERMISSIONS.get("assisted", [])
        )
        post_migrate.connect(ensure_operator_group, dispatch_uid="assisted.ensure_operator_group")
