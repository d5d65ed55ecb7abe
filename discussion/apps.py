from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DiscussionConfig(AppConfig):
    name = "discussion"
    verbose_name = _("comments")

    def ready(self) -> None:
        from discussion import audit_subjects

        # Which comment entries of the audit log an official may read (audit/subjects.py).
        audit_subjects.register()

        from discussion import admin_home

        # The reported comments on the officials' home (accounts/officials_home.py).
        admin_home.register()
