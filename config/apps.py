from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "mVoting"

    def ready(self) -> None:
        # Registers the OpenAPI extension for the X-Session-Token scheme.
        from core import schema  # noqa: F401
