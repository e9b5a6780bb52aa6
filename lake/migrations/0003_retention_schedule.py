"""Beat schedule for lake retention: daily at 02:30 India time (editable in admin afterwards)."""

from django.db import migrations

TASK_NAME = "Lake retention (daily)"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Kolkata"
    )
    # get_or_create by name: an operator's later edits (time, enabled) survive re-running migrations.
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "lake.tasks.lake_retention",
            "crontab": crontab,
            "enabled": True,
            "description": "Deletes lake objects older than LAKE_RETENTION_DAYS (or the source's override).",
        },
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("lake", "0002_lakeretentionoverride_lakesourceday"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
