from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("notifications")

    def ready(self) -> None:
        from django.core import checks

        from notifications.checks import every_kind_has_recipients

        checks.register(every_kind_has_recipients)
