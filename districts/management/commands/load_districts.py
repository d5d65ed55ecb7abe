from django.core.management.base import BaseCommand, CommandError

from districts.district_files import DistrictFileError
from districts.loaders import SEOUL_FILE, load_seoul


class Command(BaseCommand):
    help = (
        "Load the shipped Seoul districts file and its retired codes. Safe to run any number of "
        "times: a second run changes nothing."
    )

    def handle(self, *args, **options) -> None:
        try:
            report = load_seoul()
        except DistrictFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{SEOUL_FILE.name}: {report}")
