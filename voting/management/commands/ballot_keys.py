"""Print a new set of ballot-box keys as environment lines (voting/sealing.py says who gets which).

The public halves go to every process; the private halves only to the counter service. Keep the
private ones offline too: a poll's envelopes can be opened only with the key they were sealed to.
"""

from django.core.management.base import BaseCommand

from voting import sealing


class Command(BaseCommand):
    help = "Generate the sealing (X25519) and board signing (Ed25519) key pairs."

    def handle(self, *args, **options) -> None:
        for name, value in sealing.new_key_set().items():
            self.stdout.write(f"{name}={value}")
