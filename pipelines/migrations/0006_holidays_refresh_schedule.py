"""A monthly refresh of the trading calendar from NSE's holiday master (editable in admin)."""

from django.db import migrations

NAME = "NSE trading holidays (monthly)"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="6", day_of_week="*", day_of_month="1", month_of_year="*", timezone="Asia/Kolkata"
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "pipelines.holidays_refresh",
            "crontab": crontab,
            "enabled": True,
            "description": "Loads NSE's capital-market trading holidays (GET /api/holiday-master?type=trading) "
            "into the trading calendar that quality, the simulator and the bhavcopy connector read. NSE lists "
            "the current year; the built-in 2024-2026 list stays for years it has not answered. By hand: "
            "python manage.py holidays_refresh.",
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("pipelines", "0005_simulated_bhavcopy_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
