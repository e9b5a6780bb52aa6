"""Silver (stock and social rows) and gold (daily aggregates) tables, the ticker master and the trading calendar."""

from django.db import models
from django.utils import timezone


class Ticker(models.Model):
    """The ticker master: what the connectors follow and how names in text resolve to symbols."""

    symbol = models.CharField(max_length=32, help_text="upper-case NSE symbol, e.g. RELIANCE")
    exchange = models.CharField(max_length=16, default="NSE")
    isin = models.CharField(max_length=12, blank=True)
    name = models.CharField(max_length=255, blank=True)
    series = models.CharField(max_length=8, default="EQ", help_text="main series")
    market_type = models.CharField(
        max_length=4, blank=True, help_text="NSE's market type for its quote API (N); learnt from NSE when blank"
    )
    active = models.BooleanField(default=True, help_text="followed by the quote and social connectors")
    learned_on = models.DateField(
        null=True, blank=True, help_text="the trading day of the bhavcopy its ISIN and series were last learnt from"
    )
    aliases = models.JSONField(default=list, blank=True, help_text="other names people use in text")
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [models.UniqueConstraint(fields=["symbol", "exchange"], name="ticker_symbol_exchange_uniq")]

    def __str__(self) -> str:
        return self.symbol


class StockData(models.Model):
    """Silver: one price observation (a quote, or a bhavcopy close) per ticker, series, source and time."""

    ticker = models.CharField(max_length=32)
    series = models.CharField(max_length=8, default="EQ")
    price = models.DecimalField(max_digits=12, decimal_places=2)
    volume = models.BigIntegerField(null=True, blank=True)
    change_percent = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    timestamp = models.DateTimeField()
    exchange = models.CharField(max_length=16, default="NSE")
    source = models.CharField(max_length=32)
    processed_at = models.DateTimeField(default=timezone.now)
    raw_data = models.JSONField(null=True, blank=True)
    lake_object = models.ForeignKey(
        "lake.LakeObject", null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False, related_name="+"
    )

    class Meta:
        db_table = "stock_data_warehouse"
        verbose_name = "stock row"
        constraints = [
            # One b-tree is both the natural key and the historical query's index: the ticker, then the time
            # (a 30-day read is one range of it, in the selector's order). On PostgreSQL it also carries the
            # other columns that query reads (INCLUDE, added by migration 0011), so PostgreSQL answers from the
            # index alone however large the table. (Declared with ``include``, Django would leave the key out
            # altogether on SQLite.) Until 2026-12-06 these were two b-trees, the key (ticker, series,
            # exchange, source, timestamp) and (ticker, timestamp DESC) INCLUDE (…), and every loaded row
            # paid for both: a 100,000-row COPY took 2.0-2.4 s against 1.5-1.7 s with one.
            models.UniqueConstraint(
                fields=["ticker", "timestamp", "series", "exchange", "source"], name="stock_natural_key"
            )
        ]
        indexes = [
            models.Index(fields=["-processed_at"], name="idx_stock_processed_at"),
        ]

    def __str__(self) -> str:
        return f"{self.ticker} {self.price} @ {self.timestamp:%Y-%m-%d %H:%M}"


class SocialMention(models.Model):
    """Silver: one message mentioning one ticker (a message naming three tickers is three rows)."""

    class Sentiment(models.TextChoices):
        POSITIVE = "positive"
        NEUTRAL = "neutral"
        NEGATIVE = "negative"

    ticker = models.CharField(max_length=32)
    platform = models.CharField(max_length=16)
    external_id = models.CharField(max_length=128, help_text="tweet id, or chat id:message id")
    text = models.TextField()
    sentiment = models.CharField(max_length=8, choices=Sentiment.choices, default=Sentiment.NEUTRAL)
    sentiment_score = models.FloatField(default=0.0)
    is_pump_signal = models.BooleanField(default=False)
    pump_score = models.FloatField(default=0.0)
    channel = models.CharField(max_length=255, blank=True)
    author = models.CharField(max_length=255, blank=True)
    views = models.BigIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField()
    processed_at = models.DateTimeField(default=timezone.now)
    metadata = models.JSONField(null=True, blank=True)
    lake_object = models.ForeignKey(
        "lake.LakeObject", null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False, related_name="+"
    )

    class Meta:
        db_table = "social_mentions_warehouse"
        verbose_name = "social mention"
        # The timestamp is in the key because PostgreSQL partitions this table by it (a message keeps its time).
        # Led by the ticker and the time, the key is also the index of a ticker's mentions in a window (as
        # on the stock table; a separate (ticker, timestamp DESC) index until 2026-12-06, migration 0012).
        constraints = [
            models.UniqueConstraint(
                fields=["ticker", "timestamp", "platform", "external_id"], name="social_natural_key"
            )
        ]
        indexes = [
            models.Index(fields=["-processed_at"], name="idx_social_processed_at"),
            models.Index(fields=["platform", "-timestamp"], name="idx_social_platform_timestamp"),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id} {self.ticker}"


class DailyBar(models.Model):
    """Gold: one trading day of one ticker and series, from a bhavcopy or aggregated from quotes."""

    ticker = models.CharField(max_length=32)
    series = models.CharField(max_length=8, default="EQ")
    exchange = models.CharField(max_length=16, default="NSE")
    date = models.DateField()
    source = models.CharField(max_length=32)
    isin = models.CharField(max_length=12, blank=True)
    open = models.DecimalField(max_digits=14, decimal_places=4, null=True)
    high = models.DecimalField(max_digits=14, decimal_places=4, null=True)
    low = models.DecimalField(max_digits=14, decimal_places=4, null=True)
    close = models.DecimalField(max_digits=14, decimal_places=4, null=True)
    last = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    prev_close = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    volume = models.BigIntegerField(null=True, blank=True)
    value = models.DecimalField(max_digits=22, decimal_places=2, null=True, blank=True, help_text="turnover, INR")
    trades = models.BigIntegerField(null=True, blank=True)
    delivery_qty = models.BigIntegerField(null=True, blank=True)
    delivery_pct = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    updated = models.DateTimeField(default=timezone.now)
    lake_object = models.ForeignKey(
        "lake.LakeObject", null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False, related_name="+"
    )

    class Meta:
        db_table = "daily_bars"
        # The key, led by the ticker and the date, is also the index of a ticker's bars (migration 0012).
        constraints = [
            models.UniqueConstraint(fields=["ticker", "date", "series", "exchange", "source"], name="daily_bar_key")
        ]

    def __str__(self) -> str:
        return f"{self.ticker} {self.series} {self.date} ({self.source})"


class DailySocial(models.Model):
    """Gold: one day of chatter about one ticker on one platform."""

    ticker = models.CharField(max_length=32)
    platform = models.CharField(max_length=16)
    date = models.DateField()
    mentions = models.IntegerField(default=0)
    mean_sentiment = models.FloatField(default=0.0)
    pump_signals = models.IntegerField(default=0)
    max_pump_score = models.FloatField(default=0.0)
    # The day's combined pump score (mention spike, sentiment, price and volume move), set by pipelines.
    pump_score = models.FloatField(null=True, blank=True)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "daily_social"
        # The key, led by the ticker and the date, is also the index of a ticker's days (migration 0012).
        constraints = [models.UniqueConstraint(fields=["ticker", "date", "platform"], name="daily_social_key")]

    def __str__(self) -> str:
        return f"{self.ticker} {self.platform} {self.date}"


class MarketHoliday(models.Model):
    """A day NSE's capital market (the CM segment) does not trade: the trading calendar's one table.

    Seeded with the built-in 2024-2026 list, refreshed from NSE's holiday master (monthly, and by
    ``manage.py holidays_refresh``), editable in admin. Quality's freshness, the simulated market and
    the bhavcopy connector all read it through ``warehouse.calendar``.
    """

    class Source(models.TextChoices):
        BUILTIN = "builtin", "built-in list"
        NSE = "nse", "NSE holiday master"
        ADMIN = "admin", "entered in admin"

    date = models.DateField(unique=True)
    description = models.CharField(max_length=255)
    source = models.CharField(
        max_length=8, choices=Source.choices, default=Source.ADMIN, help_text="a refresh never overwrites admin's rows"
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "market_holidays"
        ordering = ["date"]
        verbose_name = "NSE trading holiday"

    def __str__(self) -> str:
        return f"{self.date:%d-%b-%Y} {self.description}"
