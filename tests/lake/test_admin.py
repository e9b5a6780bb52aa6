"""Admin: the catalog is read-only with a decoded-content view; retention overrides are editable."""

import datetime as dt

import pytest

from lake.models import LakeObject, LakeRetentionOverride
from lake.services import raw_batch_store

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2024, 12, 19, 10, 30, tzinfo=dt.UTC)


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "root-pass-123")
    client.force_login(admin)
    return client


def test_the_catalog_lists_filters_and_searches(admin_client):
    a = raw_batch_store(source="nse_api", data={"a": 1}, timestamp=T0)
    raw_batch_store(source="twitter", data={"a": 1}, timestamp=T0)
    page = admin_client.get("/admin/lake/lakeobject/", {"source": "nse_api"}).content.decode()
    assert a.key in page
    assert "twitter/" not in page
    found = admin_client.get("/admin/lake/lakeobject/", {"q": a.key.rsplit("/", 1)[1]}).content.decode()
    assert a.key in found
    assert admin_client.get("/admin/lake/lakeobject/", {"status__exact": "missing"}).status_code == 200
    assert admin_client.get("/admin/lake/lakeobject/", {"simulated__exact": "1"}).status_code == 200


def test_the_catalog_cannot_be_added_changed_or_deleted_in_admin(admin_client):
    obj = raw_batch_store(source="nse_api", data={"a": 1}, timestamp=T0)
    assert admin_client.get("/admin/lake/lakeobject/add/").status_code == 403
    response = admin_client.post(f"/admin/lake/lakeobject/{obj.pk}/change/", {"status": "corrupt"})
    assert response.status_code == 403
    assert admin_client.post(f"/admin/lake/lakeobject/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LakeObject.objects.get().status == "stored"


def test_the_content_view_shows_the_decoded_envelope_escaped(admin_client):
    obj = raw_batch_store(source="twitter", data={"text": "<script>alert(1)</script> $INFY"}, timestamp=T0)
    change = admin_client.get(f"/admin/lake/lakeobject/{obj.pk}/change/").content.decode()
    assert f"/admin/lake/lakeobject/{obj.pk}/content/" in change
    page = admin_client.get(f"/admin/lake/lakeobject/{obj.pk}/content/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; $INFY" in page
    assert "<script>alert(1)" not in page
    assert "&quot;records&quot;: 1" in page


def test_the_content_view_is_for_staff_only(client, user):
    obj = raw_batch_store(source="twitter", data={"a": 1}, timestamp=T0)
    client.force_login(user)
    response = client.get(f"/admin/lake/lakeobject/{obj.pk}/content/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_retention_override_is_added_in_admin(admin_client):
    response = admin_client.post(
        "/admin/lake/lakeretentionoverride/add/", {"source": "twitter", "days": "14", "note": ""}
    )
    assert response.status_code == 302
    assert LakeRetentionOverride.objects.get().days == 14
    bad = admin_client.post("/admin/lake/lakeretentionoverride/add/", {"source": "Twitter!", "days": "0", "note": ""})
    assert bad.status_code == 200
    assert LakeRetentionOverride.objects.count() == 1


def test_a_retention_override_for_a_source_nothing_stores_is_refused(admin_client):
    # A typo kept the meant source at LAKE_RETENTION_DAYS: a bhavcopy meant to be kept for years was not.
    response = admin_client.post(
        "/admin/lake/lakeretentionoverride/add/", {"source": "nse_bhavcopi", "days": "3650", "note": ""}
    )
    assert response.status_code == 200
    assert (
        "no pipeline stores &#x27;nse_bhavcopi&#x27; and the lake holds none of it; sources: "
        in response.content.decode()
    )
    assert not LakeRetentionOverride.objects.exists()


def test_a_retention_override_for_a_source_only_the_lake_holds_is_saved(admin_client):
    raw_batch_store(source="nse_archive", data={"a": 1}, timestamp=T0)
    response = admin_client.post(
        "/admin/lake/lakeretentionoverride/add/", {"source": "nse_archive", "days": "9", "note": ""}
    )
    assert response.status_code == 302
    assert LakeRetentionOverride.objects.get().days == 9
