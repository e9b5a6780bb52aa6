"""Issue 11, item 13: a non-number in a numeric column is refused naming the column, a record repeated
within one batch is a duplicate (not a reject), and an empty Telegram CSV is an error."""

import pytest
from django.core.management import CommandError, call_command

from pipelines.models import PipelineRun
from quality.models import QuarantinedRecord
from quality.validation import DataValidator
from warehouse.models import DailyBar

pytestmark = pytest.mark.django_db

HEADER = "SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN"


def _bhavcopy(tmp_path, *rows):
    path = tmp_path / "cm06JAN2021bhav.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_a_non_number_in_a_numeric_column_is_rejected_naming_the_column(tmp_path):
    path = _bhavcopy(
        tmp_path,
        "TCS,EQ,abc,11,10,10.75,10.7,10.2,1000,10750,06-JAN-2021,12,INE467B01029",
        "INFY,EQ,10.5,11,10,10.75,10.7,10.2,1000,10750,06-JAN-2021,12,INE009A01021",
    )
    call_command("run_pipeline", "nse_bhavcopy", "--file", str(path))
    assert list(DailyBar.objects.values_list("ticker", flat=True)) == ["INFY"]
    [reject] = QuarantinedRecord.objects.all()
    assert reject.record["ticker"] == "TCS"
    assert reject.record["open"] == "abc"
    [reason] = [r for r in reject.reasons if r["column"] == "open"]
    assert reason["rule"] == "open_number"
    assert reason["value"] == "abc"


def test_a_blank_numeric_value_is_still_a_missing_value_not_a_reject(tmp_path):
    path = _bhavcopy(tmp_path, "INFY,EQ,10.5,11,10,10.75,10.7,10.2,1000,10750,06-JAN-2021,,INE009A01021")
    call_command("run_pipeline", "nse_bhavcopy", "--file", str(path))
    assert DailyBar.objects.get().trades is None
    assert QuarantinedRecord.objects.count() == 0


def test_a_record_repeated_within_one_batch_is_a_duplicate_not_a_reject(tmp_path):
    row = "INFY,EQ,10.5,11,10,10.75,10.7,10.2,1000,10750,06-JAN-2021,12,INE009A01021"
    call_command("run_pipeline", "nse_bhavcopy", "--file", str(_bhavcopy(tmp_path, row, row, row)))
    run = PipelineRun.objects.get()
    assert (run.fetched, run.inserted, run.duplicates, run.rejected) == (3, 1, 2, 0)
    assert QuarantinedRecord.objects.count() == 0


def test_the_validator_counts_repeats_as_duplicates():
    rows = [{"ticker": "TCS", "price": 10.0, "timestamp": "2026-05-04T10:00:00+05:30", "source": "nse_api"}] * 2
    result = DataValidator("stock_quotes").validate(rows)
    assert (len(result.valid), len(result.rejected), result.duplicates) == (1, 0, 1)


def test_an_empty_telegram_csv_is_an_error_not_a_success(tmp_path):
    for name, content in (("empty.csv", ""), ("header_only.csv", "id,date,channel_id,message,views\n")):
        path = tmp_path / name
        path.write_text(content)
        with pytest.raises(CommandError) as failure:
            call_command("run_pipeline", "telegram", "--file", str(path))
        assert str(failure.value).endswith(f"telegram: {name}: the CSV holds no messages")
