"""Seed the trading calendar with the built-in NSE holidays for 2024-2026 (NSE's capital-market
circulars). The monthly refresh from NSE's holiday master replaces a year's list once NSE answers for
it; rows entered in admin are kept. Existing rows are never overwritten."""

from django.db import migrations


def seed(apps, schema_editor):
    from warehouse.calendar import builtin_holidays

    MarketHoliday = apps.get_model("warehouse", "MarketHoliday")
    MarketHoliday.objects.bulk_create(
        [MarketHoliday(date=day, description=name, source="builtin") for day, name in builtin_holidays().items()],
        ignore_conflicts=True,
    )


def unseed(apps, schema_editor):
    apps.get_model("warehouse", "MarketHoliday").objects.filter(source="builtin").delete()


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0007_market_holidays")]

    operations = [migrations.RunPython(seed, unseed)]
