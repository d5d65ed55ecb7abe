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
        _sessions_keep_digests_only()
        from accounts import auth_cache

        # A saved or deleted User drops its cached entry (accounts/auth_cache.py).
        auth_cache.connect_signals()


def _sessions_keep_digests_only() -> None:
    from django.apps import apps
    from django.contrib import admin

    from accounts.sessions import install_usersessions_digests

    if not apps.is_installed("allauth.usersessions"):
        return
    install_usersessions_digests()
    # allauth's admin lists every citizen's sessions with their IP addresses to every official;
    # a citizen's own list (/_allauth/app/v1/auth/sessions) is the only place they are shown.
    from allauth.usersessions.models import UserSession

    if admin.site.is_registered(UserSession):
        admin.site.unregister(UserSession)
