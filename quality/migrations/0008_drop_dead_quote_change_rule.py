"""Remove the stock_quotes rule "change_consistent": it compared change % with price and a previous close, but a
quote record carries no previous close (docs/CONTRACTS.md, stock record keys), so it never checked anything
while admin showed it as a live rule. Its columns now fail the column check a rule must pass (quality.rules)."""

from django.db import migrations


def drop(apps, schema_editor):
    rule = apps.get_model("quality", "ValidationRule")
    rule.objects.filter(dataset="stock_quotes", name="change_consistent").delete()


class Migration(migrations.Migration):
    dependencies = [("quality", "0007_pump_threshold_0_to_1")]

    operations = [migrations.RunPython(drop, migrations.RunPython.noop)]
