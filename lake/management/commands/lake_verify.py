"""python manage.py lake_verify"""

from django.core.management.base import BaseCommand

from lake.services import lake_verify


class Command(BaseCommand):
    help = (
        "Check the lake against its catalog: recompute checksums, register uncatalogued objects, "
        "mark missing or corrupt ones, and sweep temporary files left by interrupted writes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tmp-grace",
            type=float,
            default=600,
            help="seconds a temporary file is left alone (a write may be in progress); default 600",
        )

    def handle(self, *args, tmp_grace=600, **options):
        verbosity = options.get("verbosity", 1)
        result = lake_verify(tmp_grace_seconds=tmp_grace, progress=verbosity >= 1)
        for line in result.lines():
            self.stdout.write(line)
        if verbosity >= 2:
            for label, keys in (
                ("missing", result.missing),
                ("corrupt", result.corrupt),
                ("registered", result.registered),
                ("swept", result.tmp_swept),
            ):
                for key in keys:
                    self.stdout.write(f"  {label}: {key}")
        if result.clean:
            self.stdout.write(self.style.SUCCESS("The lake and its catalog agree."))
        else:
            self.stdout.write(self.style.WARNING("The catalog has been repaired; see above."))
