"""The stock natural key becomes the historical query's index too: one b-tree where there were two.

The key's columns are reordered to (ticker, timestamp, series, exchange, source): the same rows are unique
(ON CONFLICT infers a key by its columns, in any order), and a ticker's rows in a range of time are now one
range of it. On PostgreSQL the key also carries the columns the historical query reads (INCLUDE), so that
query stays an index-only scan, and the covering (ticker, timestamp DESC) index goes: each loaded row updates
one b-tree fewer. (Django would make a UniqueConstraint with ``include`` an index on PostgreSQL and leave it
out altogether on SQLite, so the model states the plain key and this migration adds INCLUDE on PostgreSQL.)
On a populated table the key is rebuilt once, under the table's lock.
"""

from django.db import migrations, models

TABLE = "stock_data_warehouse"
KEY = ("ticker", "timestamp", "series", "exchange", "source")
COVERED = ("price", "volume", "change_percent")


class AddCoveringKey(migrations.AddConstraint):
    """``AddConstraint``, with INCLUDE on PostgreSQL (its reverse, DROP CONSTRAINT, is the same for both)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(TABLE)} ADD CONSTRAINT {quote(self.constraint.name)} "
            f"UNIQUE ({', '.join(map(quote, KEY))}) INCLUDE ({', '.join(map(quote, COVERED))})"
        )


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0010_ticker_learned_on")]

    operations = [
        migrations.RemoveIndex(model_name="stockdata", name="idx_stock_ticker_timestamp"),
        migrations.RemoveConstraint(model_name="stockdata", name="stock_natural_key"),
        AddCoveringKey(
            model_name="stockdata",
            constraint=models.UniqueConstraint(fields=KEY, name="stock_natural_key"),
        ),
    ]
