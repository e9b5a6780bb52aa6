import datetime as dt
from decimal import Decimal

import pytest

from lake.models import LakeObject
from quality.metrics import DataQualityMetrics
from quality.models import LakeObjectAccount, QualityMetric, QuarantinedRecord
from warehouse.calendar import IST
from warehouse.models import DailyBar, StockData

pytestmark = pytest.mark.django_db


def _quote(ticker, at, **extra):
    fields = {"price": Decimal("100.00"), "volume": 10, "change_percent": Decimal("1.00"), "source": "nse_api"}
    fields.update(extra)
    return StockData(ticker=ticker, timestamp=at, **fields)


def test_completeness_counts_values_per_field_in_one_query(django_assert_num_queries):
    at = dt.datetime(2026, 5, 19, 10, 0, tzinfo=IST)
    StockData.objects.bulk_create(
        [_quote("A", at), _quote("B", at, volume=None), _quote("C", at, volume=None, change_percent=None)]
    )
    with django_assert_num_queries(1):
        result = DataQualityMetrics("stock_quotes").completeness()
    assert result["rows"] == 3
    assert result["fields"]["price"] == 100.0
    assert result["fields"]["volume"] == pytest.approx(33.3333, abs=1e-3)
    assert result["fields"]["change_percent"] == pytest.approx(66.6667, abs=1e-3)
    assert result["overall"] == pytest.approx(66.6667, abs=1e-3)


def test_day_metrics_count_only_the_ist_day():
    StockData.objects.bulk_create(
        [
            _quote("A", dt.datetime(2026, 5, 19, 0, 10, tzinfo=IST)),  # 18 May in UTC, 19 May in India
            _quote("B", dt.datetime(2026, 5, 18, 23, 50, tzinfo=IST)),
        ]
    )
    values = {m.metric: m.value for m in DataQualityMetrics("stock_quotes").day_metrics(dt.date(2026, 5, 19))}
    assert values["row_count"] == 1
    assert values["valid_ratio"] == 100.0


def test_quote_freshness_counts_only_trading_minutes_over_a_weekend():
    StockData.objects.bulk_create([_quote("A", dt.datetime(2026, 5, 15, 15, 29, tzinfo=IST))])  # a Friday
    monday = dt.datetime(2026, 5, 18, 9, 25, tzinfo=IST)
    metric = DataQualityMetrics("stock_quotes", now=monday).freshness()
    assert metric.value == 11.0  # 1 minute on Friday + 10 on Monday
    assert metric.details["wall_clock_minutes"] == 3956.0  # Friday 15:29 to Monday 09:25
    sunday = dt.datetime(2026, 5, 17, 12, 0, tzinfo=IST)
    assert DataQualityMetrics("stock_quotes", now=sunday).freshness().value == 1.0


def test_daily_bar_freshness_counts_missing_trading_days_after_the_bhavcopy_is_due():
    DailyBar.objects.create(ticker="INFY", date=dt.date(2026, 3, 27), source="nse_bhavcopy", close=1500)
    # 30 March trades, 31 March is a holiday; on 1 April before 19:00 only 30 March is late.
    morning = dt.datetime(2026, 4, 1, 10, 0, tzinfo=IST)
    metric = DataQualityMetrics("daily_bars", now=morning).freshness()
    assert metric.value == 1.0
    assert metric.details["missing_days"] == ["2026-03-30"]
    evening = dt.datetime(2026, 4, 1, 20, 0, tzinfo=IST)
    assert DataQualityMetrics("daily_bars", now=evening).freshness().value == 2.0


def test_freshness_finds_the_newest_quote_whether_it_is_recent_or_weeks_old():
    friday = dt.datetime(2026, 5, 15, 15, 29, tzinfo=IST)
    StockData.objects.bulk_create([_quote("A", friday - dt.timedelta(days=30)), _quote("B", friday)])
    # The newest is within the last week: found there.
    recent = DataQualityMetrics("stock_quotes", now=friday + dt.timedelta(days=2)).freshness()
    assert dt.datetime.fromisoformat(recent.details["newest"]) == friday
    # Nothing within the last week: the whole table is asked, and the age is the real one.
    later = friday + dt.timedelta(days=20)
    stale = DataQualityMetrics("stock_quotes", now=later).freshness()
    assert dt.datetime.fromisoformat(stale.details["newest"]) == friday
    assert stale.details["wall_clock_minutes"] == 20 * 24 * 60


def test_freshness_of_an_empty_table_is_unknown():
    assert DataQualityMetrics("social_mentions").freshness().value is None


def _hour_of_quotes(start, count):
    return [_quote(f"T{i}", start + dt.timedelta(seconds=i)) for i in range(count)]


def test_volume_anomaly_scores_the_last_hour_against_the_same_weekday_and_hour():
    window = dt.datetime(2026, 5, 19, 10, 0, tzinfo=IST)  # Tuesday 10:00-11:00
    rows = []
    for week, count in zip(range(1, 7), [20, 22, 18, 21, 19, 20], strict=True):
        rows += _hour_of_quotes(window - dt.timedelta(weeks=week), count)
    rows += _hour_of_quotes(window, 80)
    rows += _hour_of_quotes(window - dt.timedelta(hours=1), 500)  # another hour: not in the baseline
    StockData.objects.bulk_create(rows)
    metric = DataQualityMetrics("stock_quotes", now=window + dt.timedelta(hours=1, minutes=5)).volume_anomaly()
    # Five and seven weeks back were NSE holidays (Ambedkar Jayanti, Mahavir Jayanti): left out of the baseline.
    assert metric.details["baseline"] == [20, 22, 18, 21, 20]
    assert metric.details["current"] == 80
    assert metric.details["anomaly"] is True
    assert metric.value > 3


def test_past_anomalies_stay_out_of_the_baseline():
    window = dt.datetime(2026, 5, 19, 10, 0, tzinfo=IST)
    rows = []
    for week in range(1, 9):
        rows += _hour_of_quotes(window - dt.timedelta(weeks=week), 300 if week == 1 else 20)
    rows += _hour_of_quotes(window, 20)
    StockData.objects.bulk_create(rows)
    QualityMetric.objects.create(
        dataset="stock_quotes",
        metric="volume_zscore",
        value=9.0,
        scope="hour",
        window_start=window - dt.timedelta(weeks=1),
        details={"anomaly": True},
    )
    metric = DataQualityMetrics("stock_quotes").volume_anomaly(window_start=window)
    assert metric.details["excluded_anomalies"] == 1
    assert 300 not in metric.details["baseline"]
    assert metric.value == 0.0


def test_volume_anomaly_needs_a_minimum_history():
    window = dt.datetime(2026, 5, 19, 10, 0, tzinfo=IST)
    StockData.objects.bulk_create(_hour_of_quotes(window, 50))
    metric = DataQualityMetrics("stock_quotes").volume_anomaly(window_start=window)
    assert metric.value is None
    assert "fewer than 4" in metric.details["reason"]


def test_volume_anomaly_is_not_judged_outside_the_session():
    night = dt.datetime(2026, 5, 19, 22, 0, tzinfo=IST)
    assert DataQualityMetrics("stock_quotes").volume_anomaly(window_start=night) is None


def _stock_rows(obj, count: int) -> None:
    start = dt.datetime(2026, 5, 19, 4, 0, tzinfo=dt.UTC)
    StockData.objects.bulk_create(
        StockData(ticker="TCS", price=Decimal("1"), timestamp=start + dt.timedelta(minutes=obj.pk * 1000 + n),
                  source="nse_api", lake_object_id=obj.pk)
        for n in range(count)
    )  # fmt: skip


def test_reconciliation_recounts_each_lake_objects_rows_quarantine_and_duplicates():
    objs = [
        LakeObject.objects.create(
            source="nse_api", partition_date=dt.date(2026, 5, 19), key=f"k{i}", timestamp=dt.datetime.now(dt.UTC),
            bytes=1, raw_bytes=1, records=n, sha256="0" * 64,
        )
        for i, n in enumerate([60, 40])
    ]  # fmt: skip
    # The first object adds up (50 rows + 4 quarantined + 6 duplicates); 2 rows of the second are gone.
    _stock_rows(objs[0], 50)
    _stock_rows(objs[1], 33)
    QuarantinedRecord.objects.bulk_create(
        QuarantinedRecord(dataset="stock_quotes", lake_object_id=obj.pk, record={}, reasons=[], rule_names="|x|")
        for obj, n in ((objs[0], 4), (objs[1], 1))
        for _ in range(n)
    )
    LakeObjectAccount.objects.bulk_create(
        [
            LakeObjectAccount(lake_object_id=objs[0].pk, dataset="stock_quotes", records=60, duplicates=6),
            LakeObjectAccount(lake_object_id=objs[1].pk, dataset="stock_quotes", records=40, duplicates=4),
        ]
    )
    counts = {"fetched": 100, "valid": 95, "rejected": 5, "inserted": 85, "duplicates": 10}
    metrics = DataQualityMetrics("stock_quotes").run_metrics(
        run_id=7, counts=counts, lake_object_ids=[o.pk for o in objs]
    )
    gap = next(m for m in metrics if m.metric == "reconciliation_gap")
    assert gap.value == 2.0
    assert gap.details["lake_records"] == 100
    assert gap.details["gap"] == 2
    assert gap.details["unaccounted"] == [
        {"lake_object_id": objs[1].pk, "dataset": "stock_quotes", "records": 40, "rows": 33, "quarantined": 1,
         "duplicates": 4, "gap": 2}
    ]  # fmt: skip
    ratios = {m.metric: m.value for m in metrics}
    assert ratios["valid_ratio"] == 95.0
    assert ratios["duplicate_ratio"] == 10.0


def test_every_metric_a_quality_pass_measures_is_one_a_check_can_watch():
    from quality.models import METRICS
    from quality.services import quality_evaluate, schema_drift_check

    result = quality_evaluate(run_id=1, dataset="stock_quotes", counts={"fetched": 10, "valid": 9, "rejected": 1})
    measured = {m.metric for m in result.metrics}
    for dataset in ("social_mentions", "bhavcopy_rows", "daily_bars"):
        measured |= {m.metric for m in quality_evaluate(dataset=dataset).metrics}
    schema_drift_check(source="nse_api", records=[{"symbol": "TCS"}], run_id=1)
    measured |= set(QualityMetric.objects.values_list("metric", flat=True))
    assert measured <= set(METRICS), measured - set(METRICS)
    assert {"valid_ratio", "completeness", "freshness", "duplicate_ratio", "row_count"} <= measured
