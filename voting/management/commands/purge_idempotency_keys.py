"""Drop stored answers (ballots' and other creating POSTs') older than
IDEMPOTENCY_KEY_TTL_HOURS, all of them now.

The beat schedule runs the same function (voting.tasks.purge_idempotency_keys) every hour, a
bounded number of batches at a time; this command is for working off a backlog by hand.
"""

from django.core.management.base import BaseCommand

from voting import idempotency


class Command(BaseCommand):
    help = "Delete expired Idempotency-Key records (they are no longer replayed anyway)."

    def handle(self, *args, **options) -> None:
        purged = idempotency.purge_expired(max_batches=None)
        self.stdout.write(f"purged {purged} expired idempotency records")
