import datetime as dt
import importlib
import json

import pandas as pd
import pytest
from django.apps import apps as django_apps

from core.errors import InvalidInput
from quality.models import ValidationRule
from quality.rules import DATASETS, Rule, dataset_columns, default_rules, rule_problems
from quality.validation import DataValidator

from .conftest import bar, bars_from_full, bars_from_legacy, bars_from_udiff, mention, quote, quote_from_infy


def _rules_of(result, index=0):
    return sorted(r["rule"] for r in result.rejected[index].reasons)


# --- the real samples -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "parse", "rows"),
    [
        ("cm06JAN2021bhav.csv", bars_from_legacy, 2057),
        ("BhavCopy_NSE_CM_0_0_0_20260519_F_0000.csv", bars_from_udiff, 3359),
        ("sec_bhavdata_full_30122024.csv", bars_from_full, 2799),
    ],
)
def test_the_real_bhavcopies_produce_no_rejections(samples, validator, name, parse, rows):
    records = parse(samples / "nse" / name)
    result = validator("bhavcopy_rows").validate(records)
    assert [r.reasons for r in result.rejected] == []
    assert len(result.valid) == rows


def test_udiff_bond_rows_of_series_na_keep_their_series_and_pass(samples, validator):
    # NSE writes the series "NA" on five bond rows; pandas' read_csv would turn it into a missing value.
    result = validator("bhavcopy_rows").validate(
        bars_from_udiff(samples / "nse" / "BhavCopy_NSE_CM_0_0_0_20260519_F_0000.csv")
    )
    bonds = result.valid[result.valid["series"] == "NA"]
    assert sorted(bonds["ticker"]) == ["76NHAI31", "84TCHF28", "865IRFC29", "910TCAP28", "957IIFLS27"]
    assert bonds["_warnings"].isna().all()


def test_a_bar_without_a_series_is_kept_and_flagged(validator):
    result = validator("bhavcopy_rows").validate([bar(series=None)])
    assert result.rejected == []
    assert result.valid.iloc[0]["_warnings"] == ["series_present"]


def test_full_bhavcopy_dash_deliveries_read_as_missing_and_moves_beyond_the_band_are_flagged(samples, validator):
    result = validator("daily_bars").validate(bars_from_full(samples / "nse" / "sec_bhavdata_full_30122024.csv"))
    assert result.rejected == []
    moved = result.valid[result.valid["_warnings"].map(lambda w: w is not None and "close_move_plausible" in w)]
    assert sorted(moved["ticker"]) == ["BANCOINDIA", "ITTL", "MOKSH-RE", "SENORES", "SIKKO-RE"]
    # " -" on the 324 rows outside the delivery segment reads as "no value", not as a bad number.
    assert int(result.valid["delivery_qty"].isna().sum()) == 324
    assert int(result.valid["delivery_pct"].isna().sum()) == 324


def test_the_real_infy_quote_is_valid_and_coerced(samples, validator):
    record = quote_from_infy(samples / "nse" / "quote-equity_INFY_2023-10-16.json")
    result = validator("stock_quotes").validate([record])
    assert result.rejected == []
    row = result.valid.iloc[0]
    assert row["price"] == 1432.95
    assert row["timestamp"] == pd.Timestamp("2023-10-16T10:30:00Z")
    assert row["_warnings"] is None


# --- injected faults --------------------------------------------------------------------------------
def test_a_missing_price_is_rejected_by_the_required_rule(validator):
    result = validator("stock_quotes").validate([quote(), quote(ticker="TCS", price=None)])
    assert len(result.valid) == 1
    assert _rules_of(result) == ["price_required"]
    reason = result.rejected[0].reasons[0]
    assert reason == {
        "rule": "price_required",
        "column": "price",
        "value": None,
        "message": "price is present",
        "severity": "error",
    }


def test_a_negative_price_is_rejected_by_the_range_rule(validator):
    result = validator("stock_quotes").validate([quote(price=-5)])
    assert _rules_of(result) == ["price_range"]
    assert result.rejected[0].reasons[0]["value"] == -5


def test_prices_of_a_few_lakh_pass(validator):
    result = validator("stock_quotes").validate([quote(ticker="MRF", price=131_141.8, change_percent=0.1)])
    assert result.rejected == []


def test_a_future_timestamp_is_rejected_and_an_old_one_too(validator):
    result = validator("stock_quotes").validate(
        [quote(timestamp="2026-05-19T12:30:00Z"), quote(ticker="TCS", timestamp="1989-12-31T10:00:00Z")]
    )
    assert [r.rules for r in result.rejected] == [["timestamp_sane"], ["timestamp_sane"]]
    assert result.valid.empty


def test_clock_skew_within_the_tolerance_passes(validator):
    result = validator("stock_quotes").validate([quote(timestamp="2026-05-19T12:05:00Z")])
    assert result.rejected == []


def test_duplicate_keys_keep_the_first_and_reject_the_rest(validator):
    result = validator("stock_quotes").validate([quote(), quote(price=2891), quote(ticker="TCS")])
    assert list(result.valid["ticker"]) == ["RELIANCE", "TCS"]
    assert list(result.valid["price"]) == [2890.5, 2890.5]
    assert [r.rules for r in result.rejected] == [["quote_unique"]]
    assert result.rejected[0].record["price"] == 2891


def test_high_below_low_is_rejected_with_every_rule_it_breaks(validator):
    result = validator("daily_bars").validate([bar(high=1400.0)])
    assert _rules_of(result) == ["high_ge_close", "high_ge_low", "high_ge_open"]
    assert {r["column"] for r in result.rejected[0].reasons} == {"high"}


def test_a_change_that_disagrees_with_the_previous_close_is_flagged_not_rejected():
    # The change kind's three-column form, for records that carry a previous close (quotes do not: see below).
    consistent = Rule(
        "change_consistent", "change", ("price", "prev_close", "change_percent"), {"tolerance": 0.5}, "warn"
    )
    validator = DataValidator("stock_quotes", rules=[consistent])
    result = validator.validate([quote(price=110.0, prev_close=100.0, change_percent=2.0), quote(ticker="TCS")])
    assert result.rejected == []
    assert list(result.valid["_warnings"]) == [["change_consistent"], None]
    assert [w.rules for w in result.warnings] == [["change_consistent"]]


@pytest.mark.django_db
def test_no_shipped_rule_names_a_column_its_records_never_carry():
    """The seeded quote rule "change_consistent" read a previous close no quote record has: it checked nothing."""
    for rule in ValidationRule.objects.all():
        assert set(rule.columns) <= dataset_columns(rule.dataset), rule.name
    assert not ValidationRule.objects.filter(dataset="stock_quotes", name="change_consistent").exists()
    # A database seeded before: the migration removes that rule, and no other.
    ValidationRule.objects.create(
        dataset="stock_quotes",
        name="change_consistent",
        kind="change",
        columns=["price", "prev_close", "change_percent"],
        params={"tolerance": 0.5},
    )
    others = ValidationRule.objects.count() - 1
    importlib.import_module("quality.migrations.0008_drop_dead_quote_change_rule").drop(django_apps, None)
    assert not ValidationRule.objects.filter(dataset="stock_quotes", name="change_consistent").exists()
    assert ValidationRule.objects.count() == others


def test_a_bad_type_is_rejected_by_the_type_rule_and_nothing_else(validator):
    result = validator("stock_quotes").validate([quote(volume="lots"), quote(ticker="TCS", volume=12.5)])
    assert [r.rules for r in result.rejected] == [["volume_integer"], ["volume_integer"]]


def test_numbers_given_as_text_are_coerced(validator):
    result = validator("stock_quotes").validate([quote(price="2,890.50", volume="120000")])
    assert result.rejected == []
    assert result.valid.iloc[0]["price"] == 2890.5
    assert result.valid.iloc[0]["volume"] == 120000


def test_social_mentions_check_platform_sentiment_and_score(validator):
    result = validator("social_mentions").validate(
        [
            mention(),
            mention(external_id="2", platform="myspace"),
            mention(external_id="3", sentiment="ecstatic", sentiment_score=3.0),
            mention(external_id="4", ticker="not a ticker!"),
        ]
    )
    assert len(result.valid) == 1
    assert [r.rules for r in result.rejected] == [
        ["platform_known"],
        ["sentiment_known", "sentiment_score_range"],
        ["ticker_symbol"],
    ]


def test_a_missing_required_column_rejects_every_row(validator):
    df = pd.DataFrame([quote()]).drop(columns=["ticker"])
    result = validator("stock_quotes").validate(df)
    assert result.valid.empty
    assert result.rejected[0].rules == ["ticker_required"]


def test_rejected_records_are_json_ready(validator):
    df = pd.DataFrame([quote(price=-1, timestamp=pd.Timestamp("2026-05-19T04:00Z"))])
    result = validator("stock_quotes").validate(df)
    text = json.dumps(result.rejected[0].record)
    assert '"timestamp": "2026-05-19T04:00:00+00:00"' in text


def test_an_empty_batch_is_valid_and_empty(validator):
    result = validator("stock_quotes").validate([])
    assert result.valid.empty
    assert result.rejected == []


def test_an_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="dataset: unknown 'prices'"):
        DataValidator("prices", rules=[])


@pytest.mark.django_db
def test_thresholds_edited_in_the_table_take_effect():
    from quality.models import ValidationRule

    rule = ValidationRule.objects.get(dataset="stock_quotes", name="price_range")
    rule.params = {"min": 0, "exclusive_min": True, "max": 1000}
    rule.save()
    now = dt.datetime(2026, 5, 19, 12, 0, tzinfo=dt.UTC)
    result = DataValidator("stock_quotes", now=now).validate([quote(price=2890.5)])
    assert [r.rules for r in result.rejected] == [["price_range"]]


@pytest.mark.django_db
def test_a_disabled_rule_no_longer_rejects():
    from quality.models import ValidationRule

    ValidationRule.objects.filter(dataset="stock_quotes", name="price_range").update(enabled=False)
    now = dt.datetime(2026, 5, 19, 12, 0, tzinfo=dt.UTC)
    result = DataValidator("stock_quotes", now=now).validate([quote(price=-3)])
    assert result.rejected == []


def test_bar_dates_come_out_as_calendar_dates_whatever_they_came_as(validator):
    """Dates already as ``datetime.date`` pass through as they are; text among them is read as a calendar
    date; a bad date is refused and takes nothing else with it."""
    plain = validator("bhavcopy_rows").validate([bar(), bar(ticker="TCS", date=dt.date(2026, 5, 18))])
    assert plain.valid["date"].tolist() == [dt.date(2026, 5, 19), dt.date(2026, 5, 18)]
    assert all(type(d) is dt.date for d in plain.valid["date"])

    mixed = validator("bhavcopy_rows").validate(
        [
            bar(),
            bar(ticker="TCS", date="2026-05-18"),
            bar(ticker="SBIN", date="17-May-2026"),
            bar(ticker="HDFC", date="not a date"),
        ]
    )
    assert mixed.valid["ticker"].tolist() == ["INFY", "TCS", "SBIN"]
    assert mixed.valid["date"].tolist() == [dt.date(2026, 5, 19), dt.date(2026, 5, 18), dt.date(2026, 5, 17)]
    assert all(type(d) is dt.date for d in mixed.valid["date"])
    assert "date_valid" in _rules_of(mixed)


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_shipped_rule_passes_the_check_admin_applies(dataset):
    for rule in default_rules(dataset):
        problems = rule_problems(kind=rule.kind, columns=list(rule.columns), params=rule.params, dataset=dataset)
        assert problems == {}, rule.name


@pytest.mark.django_db
def test_a_stored_rule_on_a_column_no_record_has_stops_the_run_instead_of_rejecting_everything():
    """Written past admin (the shell, SQL): a required rule on "Ticker" had quarantined every quote."""
    ValidationRule.objects.create(dataset="stock_quotes", name="ticker_there", kind="required", columns=["Ticker"])
    with pytest.raises(
        InvalidInput,
        match=r"^validation rule 'ticker_there' of stock_quotes cannot be applied "
        r"\(columns: stock_quotes records have no column 'Ticker'; theirs: change_percent, exchange, ",
    ):
        DataValidator("stock_quotes")
    ValidationRule.objects.filter(name="ticker_there").update(columns=["ticker"])
    assert DataValidator("stock_quotes").validate([quote()]).rejected == []


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_columns_a_rule_may_name_are_those_the_pipelines_validate(dataset):
    """dataset_columns is read from the warehouse tables: the records validated carry exactly those fields."""
    expected = {
        "stock_quotes": "change_percent exchange lake_object_id price raw_data series source ticker timestamp volume",
        "social_mentions": "author channel external_id is_pump_signal lake_object_id metadata platform pump_score "
        "sentiment sentiment_score text ticker timestamp views",
        "bhavcopy_rows": "close date delivery_pct delivery_qty exchange high isin lake_object_id last low open "
        "prev_close series source ticker trades value volume",
    }
    expected["daily_bars"] = expected["bhavcopy_rows"]
    assert dataset_columns(dataset) == frozenset(expected[dataset].split())


@pytest.mark.django_db
def test_a_stored_rule_the_validator_cannot_apply_stops_validation_in_one_line_naming_it():
    # Written past admin's check (the shell, SQL): the run says which rule and why, not a Python error.
    ValidationRule.objects.create(
        dataset="stock_quotes", name="odd_symbols", kind="pattern", columns=["ticker"], params={"regex": "(["}
    )
    with pytest.raises(InvalidInput) as caught:
        DataValidator("stock_quotes")
    said = str(caught.value)
    assert said.startswith("validation rule 'odd_symbols' of stock_quotes cannot be applied (params: regex: does")
    assert said.endswith("fix or disable it in admin (Quality, Validation rules)")
    assert "\n" not in said
    ValidationRule.objects.filter(name="odd_symbols").update(enabled=False)
    assert DataValidator("stock_quotes").validate([quote()]).rejected == []  # disabled: the others apply
