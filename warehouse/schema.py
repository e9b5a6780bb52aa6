"""Each warehouse table's columns, declared once and read from here by the loader, the selectors'
DataFrames, the API's serializers, the admin, the bench and the tests.

What a load writes (``stored``) and the natural key (``key``) are derived from the model's ``_meta``
(its concrete fields and its unique constraint), so a field added to a model is loaded without a
second list to edit. ``public`` are the columns a reader sees (DataFrames, the API, the admin), in
that order: the time column first, then the natural key, then the values; bookkeeping
(``processed_at``, ``raw_data``, ``metadata``, ``lake_object_id``) left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from warehouse.models import DailyBar, DailySocial, SocialMention, StockData


def stored_columns(model: type[models.Model]) -> list[str]:
    """Every column of ``model``'s table but the primary key, in the model's order (``lake_object_id``)."""
    return [field.attname for field in model._meta.concrete_fields if not field.primary_key]


def natural_key(model: type[models.Model]) -> list[str]:
    """The fields of ``model``'s (single) unique constraint: what ON CONFLICT DO NOTHING dedupes on."""
    (constraint,) = [c for c in model._meta.constraints if isinstance(c, models.UniqueConstraint)]
    return list(constraint.fields)


@dataclass(frozen=True)
class Table:
    """One warehouse table: its model, what readers see; what a load writes and its key, from the model."""

    model: type[models.Model]
    public: tuple[str, ...]
    # The key a batch is de-duplicated on, when narrower than the table's unique constraint.
    identity: tuple[str, ...] = ()

    @property
    def stored(self) -> list[str]:
        return stored_columns(self.model)

    @property
    def key(self) -> list[str]:
        return list(self.identity) or natural_key(self.model)

    @property
    def table(self) -> str:
        return self.model._meta.db_table


STOCK = Table(
    StockData, public=("timestamp", "ticker", "series", "exchange", "source", "price", "volume", "change_percent")
)
SOCIAL = Table(
    SocialMention,
    public=(
        "timestamp",
        "ticker",
        "platform",
        "external_id",
        "text",
        "sentiment",
        "sentiment_score",
        "is_pump_signal",
        "pump_score",
        "channel",
        "author",
        "views",
    ),
    # A message is one post per ticker: the table's unique key adds the timestamp only because a
    # partitioned table's unique keys must hold its partition column.
    identity=("platform", "external_id", "ticker"),
)
DAILY_BAR = Table(
    DailyBar,
    public=(
        "date",
        "ticker",
        "series",
        "exchange",
        "source",
        "isin",
        "open",
        "high",
        "low",
        "close",
        "last",
        "prev_close",
        "volume",
        "value",
        "trades",
        "delivery_qty",
        "delivery_pct",
    ),
)
DAILY_SOCIAL = Table(
    DailySocial,
    public=("date", "ticker", "platform", "mentions", "mean_sentiment", "pump_signals", "max_pump_score", "pump_score"),
)

STOCK_COLUMNS = list(STOCK.public)
SOCIAL_COLUMNS = list(SOCIAL.public)
BAR_COLUMNS = list(DAILY_BAR.public)
