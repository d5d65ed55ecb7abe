from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DistrictsConfig(AppConfig):
    name = "districts"
    verbose_name = _("Districts and groups")

    def ready(self) -> None:
        from districts import signals

        signals.connect()
