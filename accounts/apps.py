from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from accounts.roles import ensure_official_group

        # After the last app's migrations, so every permission it names exists.
        post_migrate.connect(ensure_official_group, dispatch_uid="accounts.ensure_official_group")
