from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "mVoting"

    def ready(self) -> None:
        from django.conf import settings

        # Registers the OpenAPI extension for the X-Session-Token scheme.
        from core import schema  # noqa: F401

        # Error tracking only when asked for: unset, sentry-sdk is never imported.
        if settings.SENTRY_DSN:
            from config import sentry

            sentry.init(
                dsn=settings.SENTRY_DSN,
                environment=settings.SENTRY_ENVIRONMENT,
                traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
            )
