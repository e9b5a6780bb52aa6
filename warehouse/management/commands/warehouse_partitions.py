"""python manage.py warehouse_partitions [--ahead N] [--from YYYY-MM] [--to YYYY-MM] [--list]"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connection
from django.utils import timezone

from warehouse.services import partitions
from warehouse.services.partitions import (
    MAX_AHEAD,
    PARTITIONED,
    lock_not_available,
    month_range,
    month_start,
    partitions_ensure,
    partitions_list,
    partitions_maintain,
)


def _month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01" if len(text) == 7 else text).replace(day=1)
    except ValueError as exc:
        raise CommandError(f"not a month (YYYY-MM): {text!r}") from exc


class Command(BaseCommand):
    help = (
        "Monthly partitions of the silver tables (PostgreSQL): create the coming months, move stray rows "
        "out of the default partitions, apply WAREHOUSE_RETENTION_MONTHS; --from/--to create a backfill's "
        "months first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ahead", type=int, default=3, help="months to create after the current one")
        parser.add_argument("--from", dest="start", default=None, help="also create months from YYYY-MM")
        parser.add_argument("--to", dest="end", default=None, help="… up to YYYY-MM (default: this month)")
        parser.add_argument("--list", action="store_true", help="only list the partitions and their rows")

    def handle(self, *args, ahead=3, start=None, end=None, **options):
        if not 0 <= ahead <= MAX_AHEAD:
            raise CommandError(f"--ahead must be 0 to {MAX_AHEAD} months, got {ahead}")
        if connection.vendor != "postgresql":
            self.stdout.write(f"{connection.vendor}: the warehouse tables are not partitioned; nothing to do.")
            return
        if not options["list"]:
            try:
                self._maintain(ahead, start, end)
            except OperationalError as exc:
                if not lock_not_available(exc):
                    raise
                raise CommandError(
                    "another session holds the warehouse tables (a long query?): a partition could not be "
                    f"changed within {partitions.MAINTAIN_LOCK_TIMEOUT}. What was done before it stays done; run the "
                    "command again later."
                ) from exc
        for table in PARTITIONED:
            parts = partitions_list(table)
            self.stdout.write(f"{table}: {len(parts)} partitions")
            if options["list"]:
                for part in parts:
                    rows = "?" if part.rows < 0 else f"~{part.rows:,}"
                    self.stdout.write(f"  {part.name}: {rows} rows")

    def _maintain(self, ahead: int, start: str | None, end: str | None) -> None:
        if start:
            first = _month(start)
            last = _month(end) if end else month_start(timezone.now())
            if last < first:
                raise CommandError("--to is before --from")
            backfill = partitions_ensure(months=month_range(first, last), lock_timeout=partitions.MAINTAIN_LOCK_TIMEOUT)
            self.stdout.write(f"backfill months: created {len(backfill.created)} partition(s)")
        result = partitions_maintain(ahead=ahead)
        for name in result.created:
            moved = result.moved.get(name)
            self.stdout.write(f"  created {name}" + (f" ({moved} stray rows moved in)" if moved else ""))
        for name in result.dropped:
            self.stdout.write(f"  dropped {name} (retention)")
        if not (result.created or result.dropped):
            self.stdout.write("  partitions are up to date")
