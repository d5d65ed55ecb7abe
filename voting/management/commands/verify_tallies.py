"""Check polls end to end: the board, the counters and the participations (exit 1 if any
problem)."""

import sys

from django.core.management.base import BaseCommand

from voting import board
from voting.models import Poll


class Command(BaseCommand):
    help = (
        "For each poll: the board's hash chain and signatures verify, every batch holds at least "
        "BALLOT_BATCH_MIN ballots, the board's sums equal the counters (a recount), and "
        "participations equal counted ballots plus sealed envelopes. Exit 1 on any difference."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("polls", nargs="*", type=int, help="Poll ids (default: all)")

    def handle(self, *args, polls: list[int], **options) -> None:
        queryset = Poll.objects.order_by("pk")
        if polls:
            queryset = queryset.filter(pk__in=polls)
        bad = 0
        for poll_id in queryset.values_list("pk", flat=True):
            result = board.check(poll_id=poll_id)
            if result.ok:
                self.stdout.write(
                    f"poll {poll_id}: ok ({result.counted} ballots counted, "
                    f"{result.sealed} sealed, {result.participations} participations)"
                )
                continue
            bad += 1
            for problem in result.problems:
                self.stdout.write(f"poll {poll_id}: MISMATCH {problem}")
        if bad:
            self.stdout.flush()
            sys.exit(1)
