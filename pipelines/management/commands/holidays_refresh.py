"""python manage.py holidays_refresh [--file PATH …]: NSE's trading holidays into the calendar."""

from django.core.management.base import BaseCommand, CommandError

from pipelines.services.holidays import HolidayRefreshError, holidays_refresh


class Command(BaseCommand):
    help = (
        "Load NSE's capital-market trading holidays (GET /api/holiday-master?type=trading, segment CM) into "
        "the trading calendar (admin: Warehouse > NSE trading holidays)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--file",
            action="append",
            dest="files",
            default=[],
            metavar="PATH",
            help="a saved holiday-master answer instead of the network (repeatable)",
        )

    def handle(self, *args, files, **options):
        try:
            result = holidays_refresh(files=files or None)
        except HolidayRefreshError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(result.summary())
