"""Every real sample file through `run_pipeline --file`: extract → lake → transform → load → quality."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from lake.models import LakeObject
from pipelines.models import PipelineRun
from pipelines.services import enrichers_reset
from quality.models import QuarantinedRecord
from tests.warehouse.conftest import requires_postgres
from warehouse.models import DailyBar, SocialMention, StockData, Ticker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_enrichers():
    enrichers_reset()
    yield
    enrichers_reset()


def _run(source, *paths, capsys=None):
    call_command("run_pipeline", source, *[a for p in paths for a in ("--file", str(p))])
    return PipelineRun.objects.latest("pk")


def _accounted(run):
    assert run.fetched == run.valid + run.rejected + run.duplicates
    assert run.valid == run.inserted


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("cm06JAN2021bhav.csv", 2057),
        ("cm06JAN2021bhav.csv.zip", 2057),
        ("BhavCopy_NSE_CM_0_0_0_20260519_F_0000.csv", 3359),
        ("sec_bhavdata_full_30122024.csv", 2799),
    ],
)
def test_a_real_bhavcopy_loads_every_row_of_every_series(samples, name, rows):
    run = _run("nse_bhavcopy", samples / "nse" / name)
    assert run.status == PipelineRun.Status.SUCCESS
    assert (run.fetched, run.rejected, run.stored) == (rows, 0, 1)
    _accounted(run)
    assert DailyBar.objects.count() == rows - QuarantinedRecord.objects.count()
    assert StockData.objects.filter(source="nse_bhavcopy").count() == rows
    obj = LakeObject.objects.get(run_id=run.pk)
    assert obj.status == LakeObject.Status.LOADED
    assert obj.source == "nse_bhavcopy"
    assert obj.records == rows  # the lake counts the file's rows, not one file


def test_loading_an_old_bhavcopy_after_a_new_one_keeps_the_masters_current_isins(samples):
    _run("nse_bhavcopy", samples / "nse" / "BhavCopy_NSE_CM_0_0_0_20260519_F_0000.csv")
    _run("nse_bhavcopy", samples / "nse" / "cm06JAN2021bhav.csv")  # TATASTEEL's pre-split ISIN, IREDA's bonds
    master = dict(Ticker.objects.filter(symbol__in=["TATASTEEL", "IREDA"]).values_list("symbol", "isin"))
    assert master == {"TATASTEEL": "INE081A01020", "IREDA": "INE202E01016"}


def test_the_legacy_bhavcopy_keeps_every_series_and_teaches_the_ticker_master(samples):
    _run("nse_bhavcopy", samples / "nse" / "cm06JAN2021bhav.csv")
    assert DailyBar.objects.values("series").distinct().count() == 73
    assert DailyBar.objects.filter(ticker="J&KBANK", series="EQ").exists()
    bar = DailyBar.objects.get(ticker="BAJAJ-AUTO", series="EQ")
    assert bar.date.isoformat() == "2021-01-06"
    assert Ticker.objects.filter(symbol="J&KBANK").exists()
    assert Ticker.objects.exclude(isin="").filter(symbol="INFY").exists()


def test_loading_the_same_file_twice_changes_nothing(samples):
    first = _run("nse_bhavcopy", samples / "nse" / "sec_bhavdata_full_30122024.csv")
    counts = (DailyBar.objects.count(), StockData.objects.count())
    second = _run("nse_bhavcopy", samples / "nse" / "sec_bhavdata_full_30122024.csv")
    assert (DailyBar.objects.count(), StockData.objects.count()) == counts
    assert (second.inserted, second.duplicates, second.rejected) == (0, first.inserted, 0)
    _accounted(second)
    assert LakeObject.objects.filter(source="nse_bhavcopy").count() == 2  # the lake keeps both payloads


def test_the_classic_nse_quote_parses_into_one_price_row(samples):
    run = _run("nse_api", samples / "nse" / "quote-equity_INFY_2023-10-16.json")
    assert (run.status, run.fetched, run.inserted) == (PipelineRun.Status.SUCCESS, 1, 1)
    row = StockData.objects.get()
    assert (row.ticker, row.series, row.exchange, row.source) == ("INFY", "EQ", "NSE", "nse_api")
    assert row.raw_data is not None


@pytest.mark.parametrize(
    ("name", "ticker", "isin", "bar"),
    [
        # NextApi at 16:00: the official close (269.45) beside the last trade (268.2); before, prev_close
        # was derived from the rounded change % (271.76) and open/high/low were all the one quote's 268.2.
        (
            "GetQuoteApi_getSymbolData_ETERNAL_2026-02-20.json",
            "ETERNAL",
            "INE758T01015",
            ("270.80", "272.50", "267.85", "269.45", "268.20", "271.75"),
        ),
        # The retired quote-equity shape: priceInfo's open, intraDayHighLow, close and previousClose.
        (
            "quote-equity_INFY_2023-10-16.json",
            "INFY",
            "INE009A01021",
            ("1432.10", "1443.60", "1430.00", "1434.15", "1432.95", "1431.15"),
        ),
    ],
)
def test_a_quotes_daily_bar_has_the_days_figures_nse_answered(samples, name, ticker, isin, bar):
    run = _run("nse_api", samples / "nse" / name)
    assert (run.status, run.inserted) == (PipelineRun.Status.SUCCESS, 1)
    got = DailyBar.objects.get(ticker=ticker, source="nse_api")
    assert (got.open, got.high, got.low, got.close, got.last, got.prev_close) == tuple(map(Decimal, bar))
    assert got.isin == isin  # the answer's own ISIN (isinCode, or info.isin in the retired shape)


def test_a_changed_nse_json_shape_is_quarantined_as_schema_drift_not_a_crash(tmp_path):
    changed = tmp_path / "quote.json"
    changed.write_text('{"payload": {"symbol": "INFY", "ltp": 1432.5}, "status": "ok"}')
    with pytest.raises(CommandError, match="failed"):
        _run("nse_api", changed)
    run = PipelineRun.objects.latest("pk")
    assert run.status == PipelineRun.Status.FAILED
    assert (run.fetched, run.rejected, run.inserted) == (1, 1, 0)
    reject = QuarantinedRecord.objects.get()
    assert "schema_drift" in reject.rules
    assert StockData.objects.count() == 0
    assert LakeObject.objects.filter(source="nse_api").count() == 1  # the raw payload is kept


def test_a_file_of_an_unknown_layout_fails_with_a_message_naming_the_layouts(tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(CommandError) as excinfo:
        _run("nse_bhavcopy", odd)
    message = str(excinfo.value)
    assert "\n" not in message
    assert "UDiFF" in message or "udiff" in message.lower()
    assert DailyBar.objects.count() == 0
    assert LakeObject.objects.filter(source="nse_bhavcopy").count() == 1


@pytest.mark.parametrize(
    ("source", "path", "messages", "items"),
    [
        ("twitter", "twitter/search_recent_minimal.json", 10, 10),
        ("twitter", "twitter/tweet_lookup_cashtags.jsonl", 1, 1),
        ("telegram", "telegram/getUpdates_channel_post.json", 3, 3),
        ("telegram", "telegram/pump_channel_messages.jsonl", 174, 174),
        ("telegram", "telegram/pump_labelled/internal_1638879488.csv", 64, 70),
    ],
)
def test_every_social_sample_is_accounted_for_loaded_or_quarantined_with_a_reason(
    samples, source, path, messages, items
):
    run = _run(source, samples / path)
    _accounted(run)
    assert run.parsed == messages
    # The lake counts the items the file holds (a photo without text is one, though no message).
    assert LakeObject.objects.get(run_id=run.pk).records == items
    loaded_messages = SocialMention.objects.values("external_id").distinct().count()
    quarantined = QuarantinedRecord.objects.filter(run_id=run.pk).count()
    assert loaded_messages + quarantined + run.duplicates == messages
    assert all(r.reasons for r in QuarantinedRecord.objects.filter(run_id=run.pk))


def test_a_message_a_file_holds_twice_is_one_duplicate_not_two_quarantined_records(samples):
    # A scraped pump channel whose 154 rows hold 77 messages, each twice; none names an NSE ticker.
    run = _run("telegram", samples / "telegram" / "pump_labelled" / "internal_1193379360.csv")
    _accounted(run)
    assert (run.fetched, run.rejected, run.duplicates) == (154, 77, 77)
    assert QuarantinedRecord.objects.filter(run_id=run.pk).count() == 77


def test_items_that_are_no_record_are_counted_and_said(samples, capsys):
    # 70 scraped rows of a pump channel, 6 of them image posts without text: no message to load.
    run = _run("telegram", samples / "telegram" / "pump_labelled" / "internal_1638879488.csv")
    assert (run.fetched, run.skipped) == (64, 6)
    _accounted(run)
    assert "(and 6 item(s) that are no record: photos without text, service messages)" in capsys.readouterr().out


def test_a_tweet_naming_nse_tickers_becomes_one_row_per_ticker_with_sentiment_and_pump_score(tmp_path):
    page = tmp_path / "search.json"
    page.write_text(
        '{"data": [{"id": "1800000000000000001", "created_at": "2025-03-05T06:00:00.000Z", "author_id": "9",'
        ' "text": "$RELIANCE and $TCS to the moon 🚀🚀🚀 guaranteed multibagger, buy now before upper circuit!",'
        ' "entities": {"cashtags": [{"start": 0, "end": 9, "tag": "RELIANCE"}, {"start": 14, "end": 18, "tag": "TCS"}]}}],'
        ' "meta": {"result_count": 1, "newest_id": "1800000000000000001", "oldest_id": "1800000000000000001"}}'
    )
    run = _run("twitter", page)
    assert run.status == PipelineRun.Status.SUCCESS
    rows = {m.ticker: m for m in SocialMention.objects.all()}
    assert set(rows) == {"RELIANCE", "TCS"}
    assert rows["TCS"].is_pump_signal is True
    assert rows["TCS"].pump_score >= 0.5
    assert rows["TCS"].sentiment == "positive"
    assert rows["TCS"].lake_object_id == LakeObject.objects.get(run_id=run.pk).pk


def test_run_pipeline_refuses_a_missing_file_in_one_line(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("run_pipeline", "nse_bhavcopy", "--file", str(tmp_path / "nope.csv"))
    assert PipelineRun.objects.count() == 0


def _replayed_bhavcopy(samples, monkeypatch, prepare):
    """A real bhavcopy day loaded, its warehouse rows deleted, then its lake object processed again with
    ``prepare`` standing in for the handler's ``stock_rows_prepare``; returns the log of the loads."""
    from pipelines.services import handlers
    from warehouse.services import loader

    _run("nse_bhavcopy", samples / "nse" / "cm06JAN2021bhav.csv")
    DailyBar.objects.all().delete()
    StockData.objects.all().delete()
    obj = LakeObject.objects.get(source="nse_bhavcopy")
    log = []
    copy = loader._pg_copy

    def logged_copy(table, columns, rows):
        log.append(("copy", table))
        return copy(table, columns, rows)

    monkeypatch.setattr(loader, "_pg_copy", logged_copy)
    monkeypatch.setattr(handlers, "stock_rows_prepare", lambda records: prepare(log, records))
    return obj, log


@requires_postgres
def test_a_bhavcopy_cleans_its_closes_while_the_server_takes_in_its_bars(samples, monkeypatch):
    """The closes' cleaning overlaps the bars' COPY, and the work a replay offers (reading its next group)
    overlaps the closes' COPY, the larger: each runs once, with the COPY still open on the connection."""
    from django.db import connection
    from psycopg.pq import TransactionStatus

    from core.overlap import meanwhile
    from pipelines.services.process import lake_objects_process
    from warehouse.services import stock_rows_prepare

    def prepare(log, records):
        log.append(("closes cleaned", connection.connection.info.transaction_status))
        return stock_rows_prepare(records=records)

    obj, log = _replayed_bhavcopy(samples, monkeypatch, prepare)
    with meanwhile(lambda: log.append(("next group read", connection.connection.info.transaction_status))):
        outcome = lake_objects_process(objects=[obj])
    active = TransactionStatus.ACTIVE
    assert log == [
        ("copy", "daily_bars"),
        ("closes cleaned", active),
        ("copy", "stock_data_warehouse"),
        ("next group read", active),
    ]
    assert (outcome.fetched, outcome.inserted, outcome.rejected) == (2057, 2057, 0)
    assert (DailyBar.objects.count(), StockData.objects.count()) == (2057, 2057)


def test_closes_whose_cleaning_ahead_failed_are_cleaned_again_and_load(samples, monkeypatch):
    from django.db import connection

    from pipelines.services.process import lake_objects_process
    from warehouse.services import stock_rows_prepare

    def prepare(log, records):
        log.append(("closes cleaned", len(records)))
        if len(log) == 2:  # the attempt overlapped with the bars' load (on PostgreSQL; SQLite has no COPY)
            raise RuntimeError("cleaning failed")
        return stock_rows_prepare(records=records)

    obj, log = _replayed_bhavcopy(samples, monkeypatch, prepare)
    outcome = lake_objects_process(objects=[obj])
    cleanings = [entry for entry in log if entry[0] == "closes cleaned"]
    assert cleanings == [("closes cleaned", 2057)] * (2 if connection.vendor == "postgresql" else 1)
    assert (outcome.inserted, outcome.rejected, outcome.errors) == (2057, 0, [])
    assert (DailyBar.objects.count(), StockData.objects.count()) == (2057, 2057)
    assert StockData.objects.get(ticker="J&KBANK", series="EQ").price == Decimal("23.90")


def test_a_refused_bar_leaves_no_close_behind(samples, tmp_path):
    """A bhavcopy row the validation refuses is quarantined with its reason: it becomes neither a daily bar
    nor a close in the stock rows, while the day's other rows load both."""
    lines = (samples / "nse" / "cm06JAN2021bhav.csv").read_text().splitlines()[:4]
    assert lines[2].startswith("21STCENMGM,EQ,10.85,10.85,10.5,")
    lines[2] = lines[2].replace("21STCENMGM,EQ,10.85,10.85,10.5,", "21STCENMGM,EQ,10.85,9.85,10.5,", 1)  # high < low
    path = tmp_path / "cm06JAN2021bhav.csv"
    path.write_text("\n".join(lines) + "\n")
    run = _run("nse_bhavcopy", path)
    assert (run.fetched, run.inserted, run.rejected) == (3, 2, 1)
    refused = QuarantinedRecord.objects.get()
    assert refused.record["ticker"] == "21STCENMGM"
    assert "high_ge_low" in {reason["rule"] for reason in refused.reasons}
    assert sorted(DailyBar.objects.values_list("ticker", flat=True)) == sorted(
        StockData.objects.values_list("ticker", flat=True)
    )
    assert "21STCENMGM" not in set(StockData.objects.values_list("ticker", flat=True))
    assert StockData.objects.count() == 2


def test_a_bhavcopy_row_with_an_infinite_figure_is_quarantined_and_the_others_load(samples, tmp_path):
    # Python's float reads "inf", "1e400" and a 400-digit number as infinity; no NSE figure is one. Such a
    # cell makes its row refused, naming the column, and the rest of the day loads.
    header = (samples / "nse" / "cm06JAN2021bhav.csv").read_text().splitlines()[0]
    day = tmp_path / "cm06JAN2021bhav.csv"
    day.write_text(
        "\n".join(
            [
                header,
                "VOLINF,EQ,1,2,1,1.5,1.5,1.4,inf,15,06-JAN-2021,3,INE000000011,",
                "VOLBIG,EQ,1,2,1,1.5,1.5,1.4,1e400,15,06-JAN-2021,3,INE000000012,",
                "OPENBIG,EQ," + "9" * 400 + ",2,1,1.5,1.5,1.4,10,15,06-JAN-2021,3,INE000000013,",
                "GOOD,EQ,1,2,1,1.5,1.5,1.4,10,15,06-JAN-2021,3,INE000000014,",
            ]
        )
        + "\n"
    )
    run = _run("nse_bhavcopy", day)
    _accounted(run)
    assert (run.fetched, run.inserted, run.rejected) == (4, 1, 3)
    assert list(DailyBar.objects.values_list("ticker", "volume")) == [("GOOD", 10)]
    assert list(StockData.objects.values_list("ticker", flat=True)) == ["GOOD"]
    rejects = {r.record["ticker"]: r.rules for r in QuarantinedRecord.objects.all()}
    assert rejects == {"VOLINF": ["volume_integer"], "VOLBIG": ["volume_integer"], "OPENBIG": ["open_number"]}


def test_a_rule_that_cannot_be_applied_fails_the_run_in_one_line_and_the_file_loads_once_it_is_fixed(samples):
    from pipelines.services.replay import replay_unloaded
    from quality.models import ValidationRule

    # Written past admin's check (the shell, SQL): a max_length rule whose limit is no number (the validator
    # raised "ValueError: invalid literal for int()" from inside, on every run of the dataset).
    rule = ValidationRule.objects.create(
        dataset="bhavcopy_rows", name="isin_short", kind="max_length", columns=["isin"], params={"max": "twelve"}
    )
    with pytest.raises(CommandError):
        _run("nse_bhavcopy", samples / "nse" / "cm06JAN2021bhav.csv")
    run = PipelineRun.objects.latest("pk")
    assert run.status == PipelineRun.Status.FAILED
    assert "validation rule 'isin_short' of bhavcopy_rows cannot be applied (params: max: a whole number" in run.error
    assert DailyBar.objects.count() == 0
    obj = LakeObject.objects.get(run_id=run.pk)  # the file is in the lake, waiting
    assert obj.status != LakeObject.Status.LOADED

    rule.params = {"max": 12}
    rule.full_clean()
    rule.save()
    # Later (the replay leaves the last minutes' objects to the runs that may still load them):
    LakeObject.objects.filter(pk=obj.pk).update(created=timezone.now() - timedelta(hours=1))
    replay_unloaded()
    obj.refresh_from_db()
    assert obj.status == LakeObject.Status.LOADED
    assert DailyBar.objects.count() == 2057
