"""python manage.py reprocess SOURCE --from DATE --to DATE [--dry-run]: replay lake objects (idempotent)."""

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum
from django.utils import timezone
from tqdm import tqdm

from pipelines.etl import PIPELINES, Outcome, _finish
from pipelines.models import PipelineRun
from pipelines.replay import lake_objects_in_range, lake_objects_reprocess
from pipelines.selectors import run_summary_lines


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name} must be a date as YYYY-MM-DD, got {value!r}") from None


def _workers_available() -> bool:
    from config.celery import app

    try:
        return bool(app.control.ping(timeout=1.0))
    except Exception:  # no broker answer means no workers to fan out to
        return False


class Command(BaseCommand):
    help = "Re-run transform and load from the lake objects of SOURCE between two dates (inclusive)."

    def add_arguments(self, parser):
        parser.add_argument("source", choices=sorted(PIPELINES))
        parser.add_argument("--from", dest="start", required=True, help="first partition date, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last partition date, YYYY-MM-DD")
        parser.add_argument("--dry-run", action="store_true", help="only say what would be replayed")
        parser.add_argument("--local", action="store_true", help="do not fan out to Celery workers")
        parser.add_argument("--chunk", type=int, default=20, help="objects per worker task")

    def handle(self, *args, source, start, end, dry_run, local, chunk, **options):
        start, end = _date(start, "from"), _date(end, "to")
        if end < start:
            raise CommandError("--to is before --from")
        objects = lake_objects_in_range(source=source, start=start, end=end).order_by("timestamp", "pk")
        ids = list(objects.values_list("pk", flat=True))
        records = objects.aggregate(n=Sum("records"))["n"] or 0
        self.stdout.write(f"{source} {start}..{end}: {len(ids)} lake objects, {records} records")
        if dry_run or not ids:
            self.stdout.write("dry run: nothing changed" if dry_run else "nothing to replay")
            return
        run = PipelineRun.objects.create(
            pipeline=source,
            source=source,
            trigger=PipelineRun.Trigger.BACKFILL,
            status=PipelineRun.Status.RUNNING,
            started_at=timezone.now(),
            params={"from": str(start), "to": str(end), "objects": len(ids)},
        )
        if not local and _workers_available():
            outcome = self._fan_out(ids, run, chunk)
        else:
            with tqdm(total=len(ids), unit="obj", desc=f"reprocess {source}") as bar:
                outcome = lake_objects_reprocess(object_ids=ids, run_id=run.pk, progress=bar.update)
        _finish(run, outcome)
        for line in run_summary_lines(run):
            self.stdout.write(line)

    def _fan_out(self, ids: list[int], run: PipelineRun, chunk: int) -> Outcome:
        from pipelines.tasks import reprocess_objects_task

        chunks = [ids[i : i + chunk] for i in range(0, len(ids), chunk)]
        results = [(len(c), reprocess_objects_task.delay(c, run.pk)) for c in chunks]
        outcome = Outcome()
        self.stdout.write(f"fanned out {len(chunks)} tasks to the Celery workers")
        with tqdm(total=len(ids), unit="obj", desc=f"reprocess {run.pipeline} (workers)") as bar:
            pending = list(results)
            while pending:
                still = []
                for size, result in pending:
                    if result.ready():
                        value = result.get(propagate=False)
                        if isinstance(value, dict):
                            for name in ("fetched", "parsed", "valid", "rejected", "inserted", "duplicates"):
                                setattr(outcome, name, getattr(outcome, name) + value.get(name, 0))
                            outcome.errors.extend(value.get("errors", []))
                        else:
                            outcome.errors.append(str(value))
                        bar.update(size)
                    else:
                        still.append((size, result))
                pending = still
                if pending:
                    time.sleep(0.5)
        return outcome
