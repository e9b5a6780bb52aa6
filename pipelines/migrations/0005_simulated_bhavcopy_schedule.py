"""A daily simulated bhavcopy (the simulated upstream serves all three NSE layouts)."""

import json

from django.db import migrations

NAME = "Simulated NSE bhavcopy (daily 19:00 IST, Mon-Fri)"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="19", day_of_week="1-5", day_of_month="*", month_of_year="*", timezone="Asia/Kolkata"
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "pipelines.run",
            "crontab": crontab,
            "kwargs": json.dumps({"pipeline": "nse_bhavcopy", "mode": "simulated"}),
            "enabled": True,
            "description": "The day's bhavcopy from the simulated upstream (SIMULATE_UPSTREAMS on, the default).",
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("pipelines", "0004_beat_schedules")]

    operations = [migrations.RunPython(create, remove)]
