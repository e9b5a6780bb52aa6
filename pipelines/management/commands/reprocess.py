"""python manage.py reprocess SOURCE --from DATE --to DATE [--dry-run]: replay lake objects (idempotent)."""

import argparse
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from lake.services import lake_objects_reset
from pipelines.registry import PIPELINES
from pipelines.selectors import run_summary_lines
from pipelines.services import reprocess_execute, reprocess_plan, workers_available


def _chunk(value: str) -> int:
    """--chunk: a whole number of objects, 1 or more (0 or less had fanned out no task, and said success)."""
    try:
        chunk = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of objects, got {value!r}") from None
    if chunk < 1:
        raise argparse.ArgumentTypeError(f"at least 1 object per task, got {chunk}")
    return chunk


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name} must be a date as YYYY-MM-DD, got {value!r}") from None


class Command(BaseCommand):
    help = "Re-run transform and load from the lake objects of SOURCE between two dates (inclusive)."

    def add_arguments(self, parser):
        parser.add_argument("source", choices=sorted(PIPELINES))
        parser.add_argument("--from", dest="start", required=True, help="first partition date, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last partition date, YYYY-MM-DD")
        parser.add_argument("--dry-run", action="store_true", help="only say what would be replayed")
        parser.add_argument("--local", action="store_true", help="do not fan out to Celery workers")
        parser.add_argument(
            "--chunk",
            type=_chunk,
            default=200,
            help="objects per worker task (a range of the catalog); a task reads its next group of 25 while "
            "loading one, so a chunk of several groups loads faster than one of a single group",
        )
        parser.add_argument(
            "--include-failed",
            action="store_true",
            help="also objects that failed LAKE_MAX_ATTEMPTS times (their count starts again)",
        )

    def handle(self, *args, source, start, end, dry_run, local, chunk, include_failed, **options):
        start, end = _date(start, "from"), _date(end, "to")
        if end < start:
            raise CommandError("--to is before --from")
        plan = reprocess_plan(source=source, start=start, end=end, include_failed=include_failed)
        ids = plan.object_ids
        if include_failed and not dry_run:
            reset = lake_objects_reset(ids)
            if reset:
                self.stdout.write(f"reset {reset} failed lake object(s)")
        self.stdout.write(f"{source} {start}..{end}: {len(ids)} lake objects, {plan.records} records")
        if dry_run or not ids:
            self.stdout.write("dry run: nothing changed" if dry_run else "nothing to replay")
            return
        workers = not local and workers_available()
        if workers:
            self.stdout.write(f"fanned out {-(-len(ids) // chunk)} range tasks to the Celery workers")
        desc = f"reprocess {source}" + (" (workers)" if workers else "")
        # The bar counts records (its rate is records/s); the objects done are in its postfix. A bhavcopy
        # object is one file, and one stored before 2026-12-03 counts 1 record in the catalog, not its rows
        # (the workers answer rows): that bar counts files.
        files = source == "nse_bhavcopy"
        total, unit = (len(ids), "file") if files else (plan.records, "rec")
        with tqdm(total=total, unit=unit, unit_scale=not files, desc=desc) as bar:
            done = [0]

            def advance(objects: int, records: int) -> None:
                done[0] += objects
                bar.set_postfix_str(f"{done[0]}/{len(ids)} objects", refresh=False)
                bar.update(objects if files else records)

            run = reprocess_execute(plan, workers=workers, chunk=chunk, progress=advance)
        created = (run.params or {}).get("partitions_created") or []
        if created:
            self.stdout.write(f"created {len(created)} monthly partition(s) for these days: {', '.join(created)}")
        for line in run_summary_lines(run):
            self.stdout.write(line)
