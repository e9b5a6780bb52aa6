"""Reads of pipeline runs for the API, the pages and the commands."""

from django.db.models import QuerySet

from .models import PipelineRun


def runs_list(*, pipeline: str | None = None, status: str | None = None) -> QuerySet[PipelineRun]:
    runs = PipelineRun.objects.all()
    if pipeline:
        runs = runs.filter(pipeline=pipeline)
    if status:
        runs = runs.filter(status=status)
    return runs.order_by("-created", "-pk")


def run_summary_lines(run: PipelineRun) -> list[str]:
    """The human summary `run_pipeline` prints."""
    seconds = ", ".join(f"{k} {v:.2f}s" for k, v in (run.stage_seconds or {}).items())
    lines = [
        f"run {run.pk}: {run.pipeline} ({run.trigger}) {run.status.upper()}"
        + (" [simulated data]" if run.simulated else ""),
        f"  lake objects stored: {run.stored}",
        f"  fetched {run.fetched} = valid {run.valid} + rejected {run.rejected} + duplicates {run.duplicates}"
        + (
            f" (and {run.skipped} item(s) that are no record: photos without text, service messages)"
            if run.skipped
            else ""
        ),
        f"  inserted {run.inserted}, parsed {run.parsed}",
        f"  time: {run.duration or 0:.2f}s" + (f" ({seconds})" if seconds else ""),
    ]
    if run.error:
        lines.append(f"  error: {run.error.splitlines()[0][:500]}")
    return lines


def next_scheduled_runs() -> dict[str, dict]:
    """For each pipeline, its enabled beat schedule and the estimated next run (django-celery-beat)."""
    import json

    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    now = timezone.now()
    found: dict[str, dict] = {}
    tasks = PeriodicTask.objects.filter(task="pipelines.run").select_related("interval", "crontab")
    for task in tasks:
        try:
            pipeline = json.loads(task.kwargs or "{}").get("pipeline")
        except ValueError:
            continue
        if not pipeline:
            continue
        schedule = task.schedule
        next_at = None
        if task.enabled:
            last = task.last_run_at or now
            try:
                remaining = schedule.remaining_estimate(last)
                next_at = max(now, last + remaining) if task.interval_id else now + remaining
            except Exception:  # an odd schedule must not break the page
                next_at = None
        entry = {"schedule": task.name, "enabled": task.enabled, "next_run": next_at, "description": task.description}
        current = found.get(pipeline)
        # Prefer the enabled schedule with the soonest next run.
        if current is None or (
            entry["enabled"]
            and (not current["enabled"] or (next_at and (current["next_run"] is None or next_at < current["next_run"])))
        ):
            found[pipeline] = entry
    return found


def runs_loaded_last_day(*, hours: int = 24) -> list[dict]:
    """Rows loaded per finished run in the last ``hours``, oldest first (the home page's chart)."""
    from datetime import timedelta

    from django.utils import timezone

    since = timezone.now() - timedelta(hours=hours)
    return list(
        PipelineRun.objects.filter(finished_at__gte=since)
        .exclude(status=PipelineRun.Status.SKIPPED)
        .order_by("finished_at")
        .values("id", "pipeline", "finished_at", "inserted", "rejected", "status")[:2000]
    )


def ticker_daily(*, ticker: str, days: int = 30) -> dict:
    """Per trading day of the last ``days`` with data: close (the bhavcopy's, else the quotes'), mentions
    (every platform) and the day's pump score of one ticker (the home page's 30-day chart)."""
    from datetime import timedelta

    from django.db.models import Max, Sum
    from django.utils import timezone

    from warehouse.models import DailyBar, DailySocial
    from warehouse.tickers import ticker_normalize

    symbol = ticker_normalize(ticker)
    since = timezone.localdate() - timedelta(days=days)
    closes: dict = {}
    # nse_api first, so the bhavcopy's close (the official one) wins where both exist.
    for row in (
        DailyBar.objects.filter(ticker=symbol, series="EQ", date__gt=since).order_by("-source").values("date", "close")
    ):
        if row["close"] is not None:
            closes[row["date"]] = float(row["close"])
    social = {
        row["date"]: row
        for row in DailySocial.objects.filter(ticker=symbol, date__gt=since)
        .values("date")
        .annotate(mentions=Sum("mentions"), pump=Max("pump_score"))
    }
    return {
        "ticker": symbol,
        "days": [
            {
                "date": day.isoformat(),
                "close": closes.get(day),
                "mentions": int(social[day]["mentions"] or 0) if day in social else 0,
                "pump_score": round(social[day]["pump"] or 0, 3) if day in social else 0,
            }
            for day in sorted(set(closes) | set(social))
        ],
    }


def trading_days_loaded() -> int:
    """How many days the warehouse holds daily bars for."""
    from warehouse.models import DailyBar

    return DailyBar.objects.order_by().values("date").distinct().count()
