from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProposalsConfig(AppConfig):
    name = "proposals"
    verbose_name = _("citizen proposals")

    def ready(self) -> None:
        from proposals import notices

        # The outbox learns who hears of proposals from here (notifications imports no producer).
        notices.register_recipients()

        from proposals import audit_subjects

        # Which proposal entries of the audit log an official may read (audit/subjects.py).
        audit_subjects.register()

        from proposals import admin_home

        # The proposals awaiting a decision on the officials' home (accounts/officials_home.py).
        admin_home.register()
