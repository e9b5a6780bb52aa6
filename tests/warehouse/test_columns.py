"""Each warehouse table's columns are declared once (warehouse/schema.py) and match the real tables."""

import pytest
from django.db import connection

from warehouse import schema
from warehouse.services.cleaning import DAILY, SOCIAL, STOCK

pytestmark = pytest.mark.django_db

TABLES = [schema.STOCK, schema.SOCIAL, schema.DAILY_BAR, schema.DAILY_SOCIAL]


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.table)
def test_the_stored_columns_are_the_tables_columns_but_its_id(table):
    with connection.cursor() as cursor:
        described = connection.introspection.get_table_description(cursor, table.table)
    assert sorted(table.stored) == sorted(column.name for column in described if column.name != "id")


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.table)
def test_readers_see_the_time_column_first_and_no_bookkeeping(table):
    assert table.public[0] in {"timestamp", "date"}
    assert set(table.public) <= set(table.stored)
    assert not set(table.public) & {"processed_at", "updated", "raw_data", "metadata", "lake_object_id"}


def test_the_loader_writes_the_declared_columns_and_dedupes_on_the_models_key():
    assert (STOCK.columns, STOCK.key) == (schema.STOCK.stored, ["ticker", "timestamp", "series", "exchange", "source"])
    assert (SOCIAL.columns, SOCIAL.key) == (schema.SOCIAL.stored, ["platform", "external_id", "ticker"])
    assert (DAILY.columns, DAILY.key) == (schema.DAILY_BAR.stored, ["ticker", "date", "series", "exchange", "source"])
