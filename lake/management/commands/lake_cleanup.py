"""python manage.py lake_cleanup [--days N] [--source S] [--dry-run]"""

from django.core.management.base import BaseCommand, CommandError

from lake.services import lake_retention_apply


class Command(BaseCommand):
    help = (
        "Delete lake objects whose UTC date is older than the retention period "
        "(LAKE_RETENTION_DAYS, or the source's override in admin; --days overrides both)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="keep this many days for every source")
        parser.add_argument("--source", default=None, help="only this source (e.g. nse_api)")
        parser.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")

    def handle(self, *args, days=None, source=None, dry_run=False, **options):
        try:
            result = lake_retention_apply(
                days=days, source=source, dry_run=dry_run, progress=options.get("verbosity", 1) >= 1
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for name, (keep, cutoff) in result.policy.items():
            count = result.per_source.get(name, 0)
            self.stdout.write(f"  {name}: keep {keep} days (objects dated before {cutoff}): {count} object(s)")
        if not result.policy:
            self.stdout.write("  the lake holds no objects")
        style = self.style.WARNING if dry_run else self.style.SUCCESS
        self.stdout.write(style(result.summary() + (" (dry run: nothing deleted)" if dry_run else ".")))
