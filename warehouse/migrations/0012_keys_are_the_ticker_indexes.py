"""The other warehouse tables' natural keys lead with the ticker and the time, and their separate
(ticker, time DESC) indexes go: one b-tree fewer per loaded row, as the stock table since 0011.

The same rows are unique (ON CONFLICT infers a key by its columns, in any order); a ticker's rows in a window
are one range of the key, read forward or backward. On a populated table each key is rebuilt once.
"""

from django.db import migrations, models

KEYS = {
    "socialmention": ("social_natural_key", ("ticker", "timestamp", "platform", "external_id")),
    "dailybar": ("daily_bar_key", ("ticker", "date", "series", "exchange", "source")),
    "dailysocial": ("daily_social_key", ("ticker", "date", "platform")),
}
INDEXES = {
    "socialmention": "idx_social_ticker_timestamp",
    "dailybar": "idx_daily_ticker_date",
    "dailysocial": "idx_dsocial_ticker_date",
}


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0011_stock_key_is_the_history_index")]

    operations = [
        operation
        for model, (name, fields) in KEYS.items()
        for operation in (
            migrations.RemoveIndex(model_name=model, name=INDEXES[model]),
            migrations.RemoveConstraint(model_name=model, name=name),
            migrations.AddConstraint(model_name=model, constraint=models.UniqueConstraint(fields=fields, name=name)),
        )
    ]
