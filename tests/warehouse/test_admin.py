"""Admin: silver and gold rows are read-only with search and filters; tickers are edited normalised."""

import pytest
from django.urls import NoReverseMatch, reverse

from tests.warehouse.conftest import social_record, stock_record
from warehouse.models import SocialMention, StockData, Ticker
from warehouse.services import gold_refresh, warehouse

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "root-pass-123"))
    return client


def test_stock_rows_list_with_search_filters_and_a_link_to_their_lake_object(admin_client):
    warehouse.insert_stock_data([stock_record(0, lake_object_id=7), stock_record(1, ticker="TCS")])
    page = admin_client.get("/admin/warehouse/stockdata/", {"q": "RELIANCE", "source": "nse_api"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "RELIANCE" in html
    assert ">TCS<" not in html
    try:
        url = reverse("admin:lake_lakeobject_change", args=[7])
        assert f'href="{url}"' in html
    except NoReverseMatch:
        assert "#7" in html


def test_stock_and_social_rows_cannot_be_added_changed_or_deleted(admin_client):
    warehouse.insert_stock_data([stock_record(0)])
    warehouse.insert_social_data([social_record(0)])
    row = StockData.objects.get()
    assert admin_client.get("/admin/warehouse/stockdata/add/").status_code == 403
    view = admin_client.get(f"/admin/warehouse/stockdata/{row.pk}/change/")
    assert view.status_code == 200
    assert 'name="price"' not in view.content.decode()
    assert admin_client.post(f"/admin/warehouse/stockdata/{row.pk}/delete/").status_code == 403
    assert StockData.objects.count() == 1
    mention = SocialMention.objects.get()
    assert admin_client.post(f"/admin/warehouse/socialmention/{mention.pk}/delete/").status_code == 403


def test_social_rows_search_text_and_filter_by_pump_signal(admin_client):
    warehouse.insert_social_data([social_record(0, text="to the moon"), social_record(1, is_pump_signal=True)])
    page = admin_client.get("/admin/warehouse/socialmention/", {"q": "moon", "is_pump_signal__exact": "0"})
    assert page.status_code == 200
    assert "to the moon" in page.content.decode()


def test_gold_tables_list_read_only(admin_client):
    warehouse.insert_social_data([social_record(0)])
    warehouse.insert_stock_data([stock_record(0)])
    gold_refresh(dates={__import__("datetime").date(2026, 11, 20)})
    for path in ("dailybar", "dailysocial"):
        assert admin_client.get(f"/admin/warehouse/{path}/").status_code == 200
        assert admin_client.get(f"/admin/warehouse/{path}/add/").status_code == 403


def test_a_ticker_added_in_admin_is_stored_normalised(admin_client):
    response = admin_client.post(
        "/admin/warehouse/ticker/add/",
        {
            "symbol": "$zydus.ns",
            "exchange": "nse",
            "name": "Zydus Lifesciences",
            "isin": "",
            "series": "eq",
            "active": "on",
            "aliases": '["Zydus"]',
        },
    )
    assert response.status_code == 302
    ticker = Ticker.objects.get(symbol="ZYDUS")
    assert (ticker.exchange, ticker.series, ticker.aliases, ticker.active) == ("NSE", "EQ", ["Zydus"], True)


def test_a_ticker_that_is_not_a_symbol_is_refused_in_admin(admin_client):
    response = admin_client.post(
        "/admin/warehouse/ticker/add/",
        {"symbol": "not a symbol!", "exchange": "NSE", "name": "", "isin": "", "series": "EQ", "aliases": "[]"},
    )
    assert response.status_code == 200
    assert "invalid ticker" in response.content.decode()
    assert not Ticker.objects.filter(name="").exists()
