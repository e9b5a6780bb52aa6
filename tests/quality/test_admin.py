import pytest

from quality.models import QualityIncident
from quality.services import quality_evaluate

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "root-pass-123"))
    return client


@pytest.mark.parametrize(
    "model",
    ["validationrule", "quarantinedrecord", "qualitymetric", "qualitycheck", "qualityincident", "learnedschema"],
)
def test_every_quality_model_is_browsable_in_admin(admin_client, model):
    assert admin_client.get(f"/admin/quality/{model}/").status_code == 200


def test_the_seeded_rules_and_checks_are_editable_in_admin(admin_client):
    assert admin_client.get("/admin/quality/validationrule/1/change/").status_code == 200
    assert admin_client.get("/admin/quality/qualitycheck/1/change/").status_code == 200


def test_an_incident_resolved_in_admin_is_closed_by_that_user(admin_client):
    quality_evaluate(run_id=1, dataset="stock_quotes", counts={"fetched": 10, "valid": 5, "rejected": 5})
    incident = QualityIncident.objects.get()
    response = admin_client.post(
        "/admin/quality/qualityincident/", {"action": "resolve", "_selected_action": [incident.pk]}
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_by) == ("resolved", "root")
