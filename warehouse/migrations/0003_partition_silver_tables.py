"""Monthly range partitions for the silver tables on PostgreSQL, converting populated tables in place.

The social natural key gains the message's timestamp first, on every database: PostgreSQL wants the
partition key in every unique constraint, and a message keeps its timestamp, so the key means the
same. SQLite keeps plain tables.
"""

from django.db import migrations, models

TABLES = ["stock_data_warehouse", "social_mentions_warehouse"]


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from warehouse.services.partitions import table_partition

    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            table_partition(cursor, table)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from warehouse.services.partitions import table_unpartition

    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            table_unpartition(cursor, table)


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0002_seed_nifty50_tickers")]

    operations = [
        migrations.RemoveConstraint(model_name="socialmention", name="social_natural_key"),
        migrations.AddConstraint(
            model_name="socialmention",
            constraint=models.UniqueConstraint(
                fields=("platform", "external_id", "ticker", "timestamp"), name="social_natural_key"
            ),
        ),
        migrations.RunPython(partition, unpartition),
    ]
