"""Seed the default rule sets, the default checks and the hourly beat schedule (all editable in admin)."""

from django.db import migrations

TASK_NAME = "Quality checks (hourly)"

# (name, dataset, metric, direction, unit, warn, fail, description)
CHECKS = [
    *[
        (f"{ds} valid records", ds, "valid_ratio", "below", "percent", 99.0, 95.0,
         "Share of fetched records that passed validation.")
        for ds in ("stock_quotes", "social_mentions", "bhavcopy_rows", "daily_bars")
    ],
    *[
        (f"{ds} completeness", ds, "completeness", "below", "percent", 98.0, 90.0,
         "Share of key fields holding a value today.")
        for ds in ("stock_quotes", "bhavcopy_rows", "daily_bars")
    ],
    ("social_mentions completeness", "social_mentions", "completeness", "below", "percent", 95.0, 80.0,
     "Share of messages with text and a sentiment today."),
    ("stock_quotes freshness", "stock_quotes", "freshness", "above", "minutes", 15.0, 60.0,
     "Trading minutes since the newest quote (nights, weekends and NSE holidays do not count)."),
    ("social_mentions freshness", "social_mentions", "freshness", "above", "minutes", 180.0, 720.0,
     "Minutes since the newest social mention."),
    ("daily_bars freshness", "daily_bars", "freshness", "above", "days", 1.0, 2.0,
     "Trading days whose daily bars are due but missing."),
    *[
        (f"{ds} volume anomaly", ds, "volume_zscore", "abs_above", "score", 3.0, 5.0,
         "Records in the last hour against the same weekday and hour of earlier weeks.")
        for ds in ("stock_quotes", "social_mentions")
    ],
    *[
        (f"{ds} reconciliation", ds, "reconciliation_gap", "above", "count", None, 0.0,
         "Records in the lake that are neither loaded, rejected nor duplicates.")
        for ds in ("stock_quotes", "social_mentions", "bhavcopy_rows", "daily_bars")
    ],
    *[
        (f"{ds} schema drift", ds, "schema_drift", "above", "count", None, 0.0,
         "Keys new, missing or of another type in the raw payloads.")
        for ds in ("stock_quotes", "social_mentions", "bhavcopy_rows")
    ],
]  # fmt: skip


def seed(apps, schema_editor):
    from quality.rules import DATASETS, default_rules

    ValidationRule = apps.get_model("quality", "ValidationRule")
    QualityCheck = apps.get_model("quality", "QualityCheck")
    for dataset in DATASETS:
        for rule in default_rules(dataset):
            ValidationRule.objects.get_or_create(
                dataset=dataset,
                name=rule.name,
                defaults={
                    "kind": rule.kind,
                    "columns": list(rule.columns),
                    "params": rule.params,
                    "severity": rule.severity,
                    "description": rule.description[:255],
                },
            )
    for name, dataset, metric, direction, unit, warn, fail, description in CHECKS:
        QualityCheck.objects.get_or_create(
            name=name,
            defaults={
                "dataset": dataset,
                "metric": metric,
                "direction": direction,
                "unit": unit,
                "warn_threshold": warn,
                "fail_threshold": fail,
                "description": description,
            },
        )
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="5", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Kolkata"
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "quality.tasks.quality_checks_hourly",
            "crontab": crontab,
            "enabled": True,
            "description": "Computes the quality metrics of every dataset and evaluates the checks.",
        },
    )


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()
    apps.get_model("quality", "QualityCheck").objects.all().delete()
    apps.get_model("quality", "ValidationRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("quality", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
