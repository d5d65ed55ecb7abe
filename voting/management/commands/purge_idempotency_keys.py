"""Drop stored ballot answers older than IDEMPOTENCY_KEY_TTL_HOURS (run it daily, e.g. cron)."""

from django.core.management.base import BaseCommand

from voting import idempotency


class Command(BaseCommand):
    help = "Delete expired Idempotency-Key records (they are no longer replayed anyway)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"purged {idempotency.purge_expired()} expired idempotency records")
