"""python manage.py simulate_history [--days N]: fill the simulated market's last N trading days."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pipelines.services import HistoryRefused, simulate_history
from pipelines.services.history import MAX_DAYS


class Command(BaseCommand):
    help = (
        "Fill the simulated market's last N trading days through the real pipelines (quotes, chatter with "
        "its pump campaigns, the daily bhavcopy), marked simulated. Days already filled are skipped; refuses "
        "when the warehouse holds real data; does nothing when SIMULATE_UPSTREAMS is off."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=30, help=f"trading days to fill, 1 to {MAX_DAYS:,} (default 30)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, days, no_progress, **options):
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days: 1 to {MAX_DAYS:,} trading days (about four years); got {days:,}")
        if not settings.SIMULATE_UPSTREAMS:
            self.stdout.write("SIMULATE_UPSTREAMS is off: no simulated history (nothing done)")
            return
        started = time.monotonic()
        bar = tqdm(total=days, desc="simulated history", unit="day", disable=no_progress, file=self.stderr._out)

        def progress(day, filled_now):
            bar.set_postfix_str(f"{day} {'filled' if filled_now else 'already there'}", refresh=False)
            bar.update(1)

        try:
            result = simulate_history(days=days, progress=progress)
        except HistoryRefused as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        first, last = result.days[0], result.days[-1]
        self.stdout.write(
            f"simulated history {first} to {last} ({len(result.days)} trading days): {len(result.filled)} filled "
            f"with {len(result.runs)} pipeline runs, {len(result.already)} already there, "
            f"in {time.monotonic() - started:.1f} s"
        )
        for problem in result.problems:
            self.stdout.write(f"  problem: {problem}")
