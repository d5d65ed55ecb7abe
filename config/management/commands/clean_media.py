"""Clean the images stored before uploads were cleaned: metadata stripped, renamed, renditions."""

from django.apps import apps
from django.core.management.base import BaseCommand

from core.media import CleanImageField, clean_stored


class Command(BaseCommand):
    help = (
        "Re-encode every stored image that predates metadata stripping (its width unknown): "
        "EXIF/GPS removed, a random name, renditions; the old file is deleted. Idempotent."
    )

    def handle(self, *args, **options) -> None:
        for model in apps.get_models():
            fields = [f for f in model._meta.get_fields() if isinstance(f, CleanImageField)]
            for field in fields:
                pending = model._default_manager.exclude(**{field.attname: ""}).filter(
                    **{f"{field.attname}_width__isnull": True}
                )
                done = failed = 0
                for row in pending.iterator():
                    try:
                        done += clean_stored(instance=row, field=field)
                    except (OSError, ValueError, SyntaxError) as exc:
                        # A missing or unreadable file: said, and the others go on.
                        failed += 1
                        self.stderr.write(f"{model._meta.label} {row.pk}: {type(exc).__name__}")
                self.stdout.write(
                    f"{model._meta.label}.{field.name}: {done} cleaned, {failed} failed"
                )
