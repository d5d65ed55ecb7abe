from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from districts.population import SHIPPED_FILE, SHIPPED_SOURCE, import_population
from districts.population_files import PopulationFileError


class Command(BaseCommand):
    help = (
        "Import a table of registered residents by gu × 5-year age band × sex, in the layout of "
        "Seoul's open-data table (districts/population_files.py). Without a path: the shipped "
        "table. Safe to run again: an unchanged file writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", type=Path, help="TSV or CSV file (UTF-8)")
        parser.add_argument("--source", help="Where the figures come from (shown with them)")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="Not official figures: marked as a demo wherever the table is shown",
        )

    def handle(self, *args, **options) -> None:
        path: Path | None = options["path"]
        if path is not None and not options["source"]:
            raise CommandError("--source is required for a file other than the shipped one")
        try:
            report = import_population(
                path=path or SHIPPED_FILE,
                source=options["source"] or SHIPPED_SOURCE,
                is_demo=options["demo"],
            )
        except (PopulationFileError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(report))
