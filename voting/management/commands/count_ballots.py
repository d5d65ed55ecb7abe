"""The counter service: turns sealed envelopes into anonymous ballots, in batches (any number of
replicas; they share polls with SKIP LOCKED). Holds the private keys; web processes do not."""

import signal
import threading

from django.core.management.base import BaseCommand

from voting import counting, live, sealing


class Command(BaseCommand):
    help = "Count sealed ballots in shuffled batches of at least BALLOT_BATCH_MIN (a service)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="count what there is now, then exit"
        )

    def handle(self, *args, once: bool, **options) -> None:
        sealing.Counter()  # refuse to start without the private keys, or with mismatched ones
        if once:
            self.stdout.write(f"counted {counting.count_all()} ballots")
            live.wait_for_sends()  # the dashboards hear of the batches before this process ends
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_args: stop.set())
        counting.run_forever(stop=stop)
