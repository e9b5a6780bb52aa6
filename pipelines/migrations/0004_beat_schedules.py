"""Beat schedules for the pipelines (editable in admin afterwards).

With the embedded default the simulated upstream feeds quotes every minute and social chatter every
5 minutes. The live connectors' schedules exist but stay disabled until their credentials are set;
their description says why. The replay of unloaded lake objects runs every 10 minutes.
"""

import json

from django.db import migrations

SIMULATED = [
    ("Simulated NSE quotes (every minute)", "nse_api", 1),
    ("Simulated Twitter/X chatter (every 5 minutes)", "twitter", 5),
    ("Simulated Telegram chatter (every 5 minutes)", "telegram", 5),
]
LIVE = [
    (
        "NSE quotes, live (every minute, market hours)",
        "nse_api",
        {"minute": "*", "hour": "9-15", "day_of_week": "1-5"},
        "Disabled until you switch to the real NSE: set SIMULATE_UPSTREAMS=0 (and NSE_BASE_URL if you use a "
        "proxy), then enable this schedule and disable the simulated one.",
    ),
    (
        "NSE bhavcopy, live (daily 19:00 IST, Mon-Fri)",
        "nse_bhavcopy",
        {"minute": "0", "hour": "19", "day_of_week": "1-5"},
        "Disabled until you switch to the real NSE archives: set SIMULATE_UPSTREAMS=0 (NSE_ARCHIVES_URL "
        "optional), then enable this schedule.",
    ),
    (
        "Twitter/X search, live (every 15 minutes)",
        "twitter",
        {"minute": "*/15", "hour": "*", "day_of_week": "*"},
        "Disabled: needs the TWITTER_BEARER_TOKEN environment variable and SIMULATE_UPSTREAMS=0. "
        "Enable it once both are set.",
    ),
    (
        "Telegram bot updates, live (every 5 minutes)",
        "telegram",
        {"minute": "*/5", "hour": "*", "day_of_week": "*"},
        "Disabled: needs the TELEGRAM_BOT_TOKEN environment variable and SIMULATE_UPSTREAMS=0, and the "
        "channels to follow in admin (Pipelines > Telegram channels). Enable it once set.",
    ),
]
REPLAY = "Replay unloaded lake objects (every 10 minutes)"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, pipeline, minutes in SIMULATED:
        interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={
                "task": "pipelines.run",
                "interval": interval,
                "kwargs": json.dumps({"pipeline": pipeline, "mode": "simulated"}),
                "enabled": True,
                "description": "Runs on the built-in simulated upstream (SIMULATE_UPSTREAMS on, the default). "
                "Runs are recorded as skipped when SIMULATE_UPSTREAMS is off.",
            },
        )
    for name, pipeline, cron, why in LIVE:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            day_of_month="*", month_of_year="*", timezone="Asia/Kolkata", **cron
        )
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={
                "task": "pipelines.run",
                "crontab": crontab,
                "kwargs": json.dumps({"pipeline": pipeline, "mode": "live"}),
                "enabled": False,
                "description": why,
            },
        )
    every10, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=REPLAY,
        defaults={
            "task": "pipelines.replay_unloaded",
            "interval": every10,
            "enabled": True,
            "description": "Loads lake objects that were stored but never reached the warehouse "
            "(database down, worker killed). Idempotent.",
        },
    )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    names = [n for n, *_ in SIMULATED] + [n for n, *_ in LIVE] + [REPLAY]
    PeriodicTask.objects.filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("pipelines", "0003_pipelinelock"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
