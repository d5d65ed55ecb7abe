"""Recount polls from their ballots and compare with the live counters."""

import sys

from django.core.management.base import BaseCommand

from voting import tallies
from voting.models import Participation, Poll


class Command(BaseCommand):
    help = "Recount from the ballots and report any difference from the tallies (exit 1 if any)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("polls", nargs="*", type=int, help="Poll ids (default: all)")

    def handle(self, *args, polls: list[int], **options) -> None:
        queryset = Poll.objects.order_by("pk")
        if polls:
            queryset = queryset.filter(pk__in=polls)
        bad = 0
        for poll_id in queryset.values_list("pk", flat=True):
            counted = tallies.read(poll_id)
            recounted = tallies.recount(poll_id)
            participations = Participation.objects.filter(poll_id=poll_id).count()
            if counted == recounted and participations == recounted.overall.ballots:
                self.stdout.write(f"poll {poll_id}: ok ({recounted.overall.ballots} ballots)")
                continue
            bad += 1
            self.stdout.write(
                f"poll {poll_id}: MISMATCH tally={counted.overall.ballots} "
                f"ballots={recounted.overall.ballots} participations={participations} "
                f"tally_votes={counted.overall.votes} recount_votes={recounted.overall.votes}"
            )
        if bad:
            self.stdout.flush()
            sys.exit(1)
