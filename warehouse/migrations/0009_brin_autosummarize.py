"""The timestamp BRINs summarise their block ranges as they fill (autosummarize), on PostgreSQL."""

from django.db import migrations

TABLES = ["stock_data_warehouse", "social_mentions_warehouse"]


def brin(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from warehouse.services.partitions import brin_create

    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            brin_create(cursor, table)


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0008_seed_market_holidays")]

    operations = [migrations.RunPython(brin, migrations.RunPython.noop)]
