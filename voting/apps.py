from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VotingConfig(AppConfig):
    name = "voting"
    verbose_name = _("Voting")

    def ready(self) -> None:
        from voting import audit, audit_citizens

        audit_citizens.connect()
        # Django's admin history goes into the audit log's chain too (voting/audit.py).
        audit.connect_admin_log()
