from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from districts.district_files import DistrictFileError, read_district_file, read_retired_file
from districts.loaders import import_districts


class Command(BaseCommand):
    help = (
        "Import a districts file (tab-separated: code level parent_code name_ko name_en), e.g. "
        "another city or a later revision of Seoul. Districts are upserted by code; those of the "
        "file's cities that the file no longer lists are marked inactive, never deleted. "
        "Nothing is written if the file has an error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the districts file (TSV, UTF-8)")
        parser.add_argument(
            "--retired",
            type=Path,
            help=(
                "a retired-codes file (code name_ko name_en parent_code retired_on replaced_by); "
                "its codes are kept as inactive districts"
            ),
        )
        parser.add_argument(
            "--keep-missing",
            action="store_true",
            help="do not deactivate districts the file leaves out (for partial files)",
        )

    def handle(self, *args, **options) -> None:
        try:
            rows = read_district_file(options["file"])
            retired = read_retired_file(options["retired"]) if options["retired"] else None
            report = import_districts(
                rows, retired=retired, deactivate_missing=not options["keep_missing"]
            )
        except DistrictFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{options['file'].name}: {report}")
