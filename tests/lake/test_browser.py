"""The lake browser in real headless Chromium: cards, dropdowns, the viewer, errors, untrusted content."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from lake.models import LakeObject, LakeSourceDay
from lake.services import raw_batch_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
T0 = dt.datetime(2024, 12, 19, 10, 30, tzinfo=dt.UTC)
HOSTILE = '<script>window.__pwned = "script"</script><img src=x onerror="window.__pwned = \'img\'">'


def open_lake(page, live_server):
    page.goto(f"{live_server.url}/lake/")
    expect(page.locator('[data-stat="objects"]')).not_to_have_text("…")


def choose_source(page, source):
    page.select_option("#lake-source", source)
    expect(page.locator("#lake-objects")).to_be_visible()


def test_a_user_browses_a_source_day_and_object(logged_in_page, live_server):
    page = logged_in_page
    old = raw_batch_store(source="nse_api", data=[{"symbol": "ITC"}], timestamp=T0 - dt.timedelta(days=1))
    first = raw_batch_store(source="nse_api", data=[{"symbol": "INFY", "lastPrice": 1450.5}] * 3, timestamp=T0)
    sim = raw_batch_store(
        source="nse_api", data={"symbol": "SBIN"}, timestamp=T0 + dt.timedelta(hours=1), simulated=True
    )
    raw_batch_store(source="twitter", data={"text": "hi"}, timestamp=T0)

    open_lake(page, live_server)
    assert page.locator('[data-stat="objects"]').inner_text() == "4"
    assert page.locator('[data-stat="records"]').inner_text() == "6"
    assert "\u00d7" in page.locator('[data-stat="compression_ratio"]').inner_text()
    assert page.locator("#lake-sources tbody tr").count() == 2
    assert page.locator("#lake-sources tbody tr").first.locator("td").first.inner_text() == "nse_api"

    choose_source(page, "nse_api")
    dates = page.locator("#lake-date option").all_inner_texts()
    assert [d.split(" ")[0] for d in dates] == ["2024-12-19", "2024-12-18"]  # newest first, chosen by default
    rows = page.locator("#lake-objects tbody tr")
    expect(rows).to_have_count(2)
    assert rows.nth(0).get_attribute("data-id") == str(first.pk)
    assert "simulated" not in rows.nth(0).inner_text()
    assert rows.nth(1).locator(".badge.sim").inner_text() == "simulated"
    assert "19 Dec 2024, 4:00:00 pm IST" in rows.nth(0).inner_text()  # 10:30 UTC shown in IST
    assert "2 object(s) stored on 2024-12-19" in page.locator("#lake-objects-hint").inner_text()

    rows.nth(0).get_by_role("button", name="View").click()
    viewer = page.locator("#lake-viewer")
    expect(viewer).to_contain_text("records: 3")
    expect(viewer).to_contain_text('symbol: "INFY"')
    assert page.locator("#lake-viewer-title").inner_text() == first.key
    assert page.locator("#lake-download").get_attribute("href") == f"/api/data/lake/objects/{first.pk}/download"
    # Collapsible: closing the data branch hides its records.
    data_branch = viewer.locator(":scope > details > details")
    data_branch.locator("> summary").click()
    expect(viewer.locator('text=symbol: "INFY"').first).to_be_hidden()
    page.click("#lake-plain-toggle")
    expect(page.locator("#lake-viewer-plain")).to_contain_text('"lastPrice": 1450.5')

    response = page.request.get(f"{live_server.url}/api/data/lake/objects/{first.pk}/download")
    assert response.status == 200
    assert response.headers["content-type"] == "application/gzip"

    page.select_option("#lake-date", "2024-12-18")
    expect(page.locator("#lake-objects tbody tr")).to_have_count(1)
    assert page.locator("#lake-objects tbody tr").get_attribute("data-id") == str(old.pk)
    assert sim.simulated
    assert page.external_requests == []


def test_refresh_shows_new_objects_without_reloading_the_page(logged_in_page, live_server):
    page = logged_in_page
    raw_batch_store(source="nse_api", data={"a": 1}, timestamp=T0)
    open_lake(page, live_server)
    choose_source(page, "nse_api")
    page.evaluate("window.__stayed = true")

    raw_batch_store(source="nse_api", data={"a": 2}, timestamp=T0 + dt.timedelta(minutes=5))
    page.click("#lake-refresh")

    expect(page.locator('[data-stat="objects"]')).to_have_text("2")
    expect(page.locator("#lake-objects tbody tr")).to_have_count(2)
    assert page.evaluate("window.__stayed") is True
    assert page.locator("#lake-source").input_value() == "nse_api"


def test_hostile_content_shows_as_text_and_runs_nothing(logged_in_page, live_server):
    page = logged_in_page
    obj = raw_batch_store(
        source="telegram", data=[{"message": HOSTILE, HOSTILE: "key too"}], timestamp=T0, simulated=True
    )
    open_lake(page, live_server)
    choose_source(page, "telegram")
    page.locator("#lake-objects tbody tr").first.get_by_role("button", name="View").click()
    viewer = page.locator("#lake-viewer")
    expect(viewer).to_contain_text("records: 1")
    expect(viewer).to_contain_text('<script>window.__pwned = "script"</script>')
    expect(viewer).to_contain_text("<img src=x onerror=")
    assert viewer.locator("script, img").count() == 0
    assert page.locator("img").count() == 0
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None
    page.click("#lake-plain-toggle")
    expect(page.locator("#lake-viewer-plain")).to_contain_text("<img src=x onerror=")
    assert page.evaluate("window.__pwned") is None
    assert obj.pk


def test_a_failed_request_shows_a_readable_error(logged_in_page, live_server):
    page = logged_in_page
    obj = raw_batch_store(source="nse_api", data={"a": 1}, timestamp=T0)
    raw_batch_store(source="twitter", data={"a": 1}, timestamp=T0)
    open_lake(page, live_server)
    # The source vanishes (retention ran) between loading the page and choosing it.
    LakeObject.objects.filter(source="nse_api").delete()
    LakeSourceDay.objects.filter(source="nse_api").delete()
    page.select_option("#lake-source", "nse_api")
    error = page.locator("#lake-error")
    expect(error).to_be_visible()
    expect(error).to_have_text(
        re.compile(r"The lake answered 404: source: the lake holds no objects of source 'nse_api'")
    )
    assert obj.pk
    page.click("#lake-refresh")
    expect(error).to_be_hidden()
    expect(page.locator("#lake-source option")).to_have_text(["Choose a source", "twitter (1 objects)"])
    expect(error).to_be_hidden()


def test_an_object_that_storage_lost_is_explained_in_the_viewer(logged_in_page, live_server, isolated_lake):
    page = logged_in_page
    obj = raw_batch_store(source="nse_api", data={"a": 1}, timestamp=T0)
    (isolated_lake / obj.key).unlink()
    open_lake(page, live_server)
    choose_source(page, "nse_api")
    page.locator("#lake-objects tbody tr").first.get_by_role("button", name="View").click()
    expect(page.locator("#lake-viewer .error")).to_contain_text("This object cannot be shown: lake object")
    expect(page.locator("#lake-viewer .error")).to_contain_text("missing from storage")


def test_an_object_too_big_to_show_says_so_and_offers_its_download(logged_in_page, live_server, settings):
    settings.LAKE_INLINE_MAX_BYTES = 200
    page = logged_in_page
    big = raw_batch_store(source="nse_api", data=[{"symbol": "INFY", "note": "x" * 400}], timestamp=T0)
    open_lake(page, live_server)
    choose_source(page, "nse_api")
    page.locator("#lake-objects tbody tr").first.get_by_role("button", name="View").click()
    viewer = page.locator("#lake-viewer")
    expect(viewer).to_contain_text("shown inline")  # the API's reason, not a tree holding "null"
    assert "null" not in viewer.inner_text()
    link = viewer.get_by_role("link", name="Download the object (.json.gz)")
    assert link.get_attribute("href") == f"/api/data/lake/objects/{big.pk}/download"


def test_viewing_an_object_below_a_long_list_brings_the_viewer_into_sight(logged_in_page, live_server):
    page = logged_in_page
    page.set_viewport_size({"width": 1280, "height": 720})
    for n in range(40):
        raw_batch_store(source="nse_api", data={"n": n}, timestamp=T0 + dt.timedelta(minutes=n))
    open_lake(page, live_server)
    choose_source(page, "nse_api")
    expect(page.locator("#lake-objects tbody tr")).to_have_count(40)
    page.locator("#lake-objects tbody tr").first.get_by_role("button", name="View").click()
    expect(page.locator("#lake-viewer")).to_contain_text("records: 1")
    expect(page.locator("#lake-viewer-card")).to_be_in_viewport()


def test_a_link_to_an_object_opens_it_and_a_bad_one_says_why(logged_in_page, live_server):
    page = logged_in_page
    raw_batch_store(source="nse_api", data={"symbol": "ITC"}, timestamp=T0)
    day = T0 - dt.timedelta(days=1)
    for n in range(120):  # the day's list shows 100 a page, oldest first: the linked one is on the second
        raw_batch_store(source="nse_api", data={"n": n}, timestamp=day.replace(hour=1) + dt.timedelta(seconds=n))
    wanted = raw_batch_store(source="nse_api", data={"symbol": "INFY"}, timestamp=day)
    page.goto(f"{live_server.url}/lake/?object={wanted.pk}")
    expect(page.locator("#lake-viewer-title")).to_have_text(wanted.key)
    expect(page.locator("#lake-viewer")).to_contain_text('symbol: "INFY"')
    # Its source and day are listed around it, its row marked (not the newest day, the default).
    assert page.locator("#lake-source").input_value() == "nse_api"
    expect(page.locator("#lake-date")).to_have_value("2024-12-18")
    expect(page.locator("#lake-objects tbody tr.selected")).to_have_attribute("data-id", str(wanted.pk))

    page.goto(f"{live_server.url}/lake/?object=999999")
    expect(page.locator("#lake-error")).to_contain_text("The lake answered 404: id: no lake object")
    expect(page.locator("#lake-viewer-card")).to_be_hidden()
    page.goto(f"{live_server.url}/lake/?object=1%3Cb%3E")
    expect(page.locator("#lake-error")).to_contain_text("'object' must be an object's number, not '1<b>'")
    assert page.locator("#lake-error b").count() == 0
    expect(page.locator("#lake-viewer-card")).to_be_hidden()
