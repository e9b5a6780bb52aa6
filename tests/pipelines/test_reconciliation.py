"""The reconciliation recounts each lake object's records in the tables: a deleted warehouse row shows up."""

import pytest
from django.core.management import call_command
from django.db.models import Sum

from lake.models import LakeObject
from pipelines.services import pipeline_run
from quality.models import LakeObjectAccount, QualityMetric
from quality.reconciliation import lake_objects_unaccounted
from warehouse.models import DailyBar, SocialMention, StockData

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(sim, samples):
    """One run of each pipeline on the simulated upstream, and a real bhavcopy file."""
    runs = [
        pipeline_run(pipeline="nse_api"),
        pipeline_run(pipeline="twitter"),
        pipeline_run(pipeline="telegram"),
        pipeline_run(pipeline="nse_bhavcopy", files=[str(samples / "nse" / "cm06JAN2021bhav.csv")]),
    ]
    assert [run.status for run in runs] == ["success"] * 4
    assert StockData.objects.exists()
    assert SocialMention.objects.exists()
    assert DailyBar.objects.exists()
    return runs


def _gap(run) -> float:
    return QualityMetric.objects.get(run_id=run.pk, metric="reconciliation_gap").value


def test_every_record_of_every_loaded_lake_object_is_accounted_for(loaded):
    assert LakeObjectAccount.objects.count() == LakeObject.objects.count()
    # Each run read exactly the records it counted as fetched, object by object.
    for run in loaded:
        accounts = LakeObjectAccount.objects.filter(run_id=run.pk)
        assert accounts.aggregate(n=Sum("records"))["n"] == run.fetched
        assert _gap(run) == 0.0
    assert lake_objects_unaccounted() == []


def test_deleting_one_warehouse_row_shows_its_lake_object_as_unaccounted(loaded, api_client, client, user):
    row = StockData.objects.filter(source="nse_api").order_by("pk").first()
    row.delete()
    (item,) = lake_objects_unaccounted()
    account = LakeObjectAccount.objects.get(lake_object_id=row.lake_object_id)
    assert (item.lake_object_id, item.dataset, item.gap) == (row.lake_object_id, "stock_quotes", 1)
    assert (item.records, item.rows) == (account.records, account.records - account.duplicates - 1)

    body = api_client.get("/api/data/quality/unaccounted").json()
    assert body["days"] == 7
    assert [(o["lake_object_id"], o["gap"]) for o in body["objects"]] == [(row.lake_object_id, 1)]

    client.force_login(user)
    page = client.get("/quality/").content.decode()
    assert 'id="unaccounted"' in page
    assert f"<td>#{row.lake_object_id}</td>" in page
    assert "unaccounted-none" not in page


def test_a_deleted_social_row_and_a_deleted_bar_show_up_too(loaded):
    social = SocialMention.objects.order_by("pk").first()
    bar = DailyBar.objects.filter(source="nse_bhavcopy").order_by("pk").first()
    social.delete()
    bar.delete()
    found = {(item.lake_object_id, item.dataset, item.gap) for item in lake_objects_unaccounted()}
    assert found == {(social.lake_object_id, "social_mentions", 1), (bar.lake_object_id, "bhavcopy_rows", 1)}


def test_reprocessing_puts_the_deleted_row_back_and_the_objects_add_up_again(loaded):
    row = StockData.objects.filter(source="nse_api").order_by("pk").first()
    row.delete()
    assert len(lake_objects_unaccounted()) == 1
    call_command("reprocess", "nse_api", "--from", "2000-01-01", "--to", "2100-01-01", "--local")
    assert StockData.objects.filter(pk__gt=0, ticker=row.ticker, timestamp=row.timestamp).count() == 1
    assert lake_objects_unaccounted() == []


def test_the_page_says_so_when_everything_adds_up(loaded, client, user):
    client.force_login(user)
    page = client.get("/quality/").content.decode()
    assert 'id="unaccounted-none"' in page
    assert 'id="unaccounted"' not in page
