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

        from django.db.models.signals import post_delete, post_save

        from voting.models import Option
        from voting.results_cache import forget_option

        # An option's label is in the cached results; editing it writes no poll row.
        uid = "voting.results_cache.forget_option"
        post_save.connect(forget_option, sender=Option, dispatch_uid=f"{uid}.save")
        post_delete.connect(forget_option, sender=Option, dispatch_uid=f"{uid}.delete")
