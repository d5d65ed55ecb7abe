from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VotingConfig(AppConfig):
    name = "voting"
    verbose_name = _("Voting")

    def ready(self) -> None:
        from voting import notices

        # The outbox learns who hears of polls from voting (notifications imports no producer).
        notices.register_recipients()

        from voting import audit_subjects

        # Which poll entries of the audit log an official may read (audit/subjects.py).
        audit_subjects.register()
