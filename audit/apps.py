from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("audit log")

    def ready(self) -> None:
        from audit import admin_log, receivers

        receivers.connect()
        # Django's admin history goes into the chain too (audit/admin_log.py).
        admin_log.connect()
