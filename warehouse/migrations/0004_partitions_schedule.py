"""Beat schedule for the warehouse partitions: daily at 01:45 India time (editable in admin afterwards)."""

from django.db import migrations

TASK_NAME = "Warehouse partitions (daily)"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="45", hour="1", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Kolkata"
    )
    # get_or_create by name: an operator's later edits (time, enabled) survive re-running migrations.
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "warehouse.tasks.warehouse_partitions",
            "crontab": crontab,
            "enabled": True,
            "description": "Creates the coming months' warehouse partitions, moves strays out of the default "
            "partitions, and drops partitions older than WAREHOUSE_RETENTION_MONTHS when it is set.",
        },
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0003_partition_silver_tables"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
