"""python manage.py run_pipeline SOURCE [--file PATH …] [--tickers T …]: one synchronous run."""

from django.core.management.base import BaseCommand, CommandError

from pipelines.models import PipelineRun
from pipelines.registry import PIPELINES
from pipelines.selectors import run_summary_lines
from pipelines.services import RunNotRecorded, pipeline_run


class Command(BaseCommand):
    help = "Run one pipeline now (extract → lake → transform → load → quality) and print its summary."

    def add_arguments(self, parser):
        parser.add_argument("source", choices=sorted(PIPELINES), help="the pipeline (lake source) to run")
        parser.add_argument(
            "--file",
            action="append",
            dest="files",
            default=[],
            metavar="PATH",
            help="read a saved payload instead of the network (repeatable)",
        )
        parser.add_argument("--tickers", nargs="+", default=None, help="limit to these tickers")

    def handle(self, *args, source, files, tickers, **options):
        for path in files:
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        try:
            run = pipeline_run(pipeline=source, files=files or None, tickers=tickers)
        except RunNotRecorded as exc:
            # The database went away mid-run: one line with the reason, no traceback.
            raise CommandError(str(exc)) from None
        for line in run_summary_lines(run):
            self.stdout.write(line)
        if run.status in (PipelineRun.Status.FAILED, PipelineRun.Status.SKIPPED):
            # One line, no traceback (the run row keeps it).
            raise CommandError(f"run {run.pk} {run.status}: {run.error.splitlines()[0] if run.error else ''}")
