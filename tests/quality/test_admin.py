import pytest

from quality.models import PumpAlertSetting, QualityCheck, QualityIncident
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


def _rule_form(**fields) -> dict:
    form = {"dataset": "stock_quotes", "name": "my_rule", "kind": "range", "columns": '["price"]'}
    form |= {"params": '{"min": 0}', "severity": "error", "enabled": "on", "description": ""}
    return form | fields


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"kind": "pattern", "params": '{"regex": "[A-Z"}'}, "regex: does not compile"),
        ({"params": '{"min": "zero"}'}, "min: a number; got &quot;zero&quot;"),
        ({"params": '{"min": 10, "max": 5}'}, "min (10) is above max (5)"),
        ({"params": '{"mni": 0}'}, "&#x27;mni&#x27; is no parameter of a range rule"),
        ({"params": "{}"}, "a range rule needs"),
        ({"kind": "compare", "columns": '["high"]', "params": '{"op": "=="}'}, "op: one of &gt;=, &lt;=, &gt;, &lt;"),
        ({"columns": '"price"'}, "a list of column names"),
        ({"kind": "max_length", "params": '{"max": -1}'}, "max: a whole number of characters"),
        ({"kind": "allowed", "params": '{"values": "EQ"}'}, "values: a list of the allowed values"),
        # A misspelt column: a range rule would check nothing (an absent column is skipped), a required one
        # reject every record.
        ({"columns": '["prcie"]'}, "stock_quotes records have no column &#x27;prcie&#x27;; theirs: change_percent,"),
        ({"kind": "required", "columns": '["Ticker"]', "params": "{}"}, "have no column &#x27;Ticker&#x27;"),
    ],
    ids=[
        "regex",
        "min-text",
        "min-above-max",
        "typo",
        "no-bound",
        "compare-op",
        "columns-text",
        "length",
        "values",
        "column-typo",
        "column-case",
    ],
)
def test_a_rule_the_validator_cannot_apply_is_refused_in_admin_naming_why(admin_client, fields, said):
    from quality.models import ValidationRule

    before = ValidationRule.objects.count()
    response = admin_client.post("/admin/quality/validationrule/add/", _rule_form(**fields))
    assert response.status_code == 200  # the form again, with its errors
    assert said in response.content.decode()
    assert ValidationRule.objects.count() == before


def test_a_rule_the_validator_can_apply_is_saved_in_admin(admin_client):
    from quality.models import ValidationRule

    response = admin_client.post("/admin/quality/validationrule/add/", _rule_form(params='{"min": 0, "max": 5e5}'))
    assert response.status_code == 302
    assert ValidationRule.objects.get(name="my_rule").params == {"min": 0, "max": 500000.0}


def test_a_threshold_edited_in_the_rule_list_is_checked_too(admin_client):
    from quality.models import ValidationRule

    rule = ValidationRule.objects.get(dataset="stock_quotes", name="price_range")
    form = {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(rule.pk), "form-0-params": '{"min": "0", "max": 10}', "form-0-severity": "error",
        "form-0-enabled": "on", "_save": "Save",
    }  # fmt: skip
    response = admin_client.post("/admin/quality/validationrule/", form)
    assert response.status_code == 200
    assert "min: a number; got &quot;0&quot;" in response.content.decode()
    rule.refresh_from_db()
    assert rule.params["max"] == 10_000_000


def _check_form(**fields) -> dict:
    form = {"name": "my check", "dataset": "stock_quotes", "metric": "valid_ratio", "direction": "below"}
    form |= {"unit": "percent", "warn_threshold": "99", "fail_threshold": "95", "enabled": "on", "description": ""}
    form |= {"last_status": "unknown"}
    return form | fields


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"metric": "valid_ratoi"}, "no metric is called &#x27;valid_ratoi&#x27;; the measured ones: valid_ratio,"),
        ({"warn_threshold": "90"}, "a check that fails below 95 warns first, at 95 or above; got 90"),
        (
            {"metric": "freshness", "direction": "above", "warn_threshold": "90", "fail_threshold": "60"},
            "a check that fails above 60 warns first, at 60 or below; got 90",
        ),
        (
            {"metric": "volume_zscore", "direction": "abs_above", "warn_threshold": "", "fail_threshold": "-3"},
            "a size (either sign) is never below 0; got -3",
        ),
        (
            {"metric": "volume_zscore", "direction": "abs_above", "warn_threshold": "6", "fail_threshold": "5"},
            "a check that fails beyond ±5 warns first, at 5 or below; got 6",
        ),
    ],
    ids=["metric-typo", "warn-below-fail", "warn-above-fail", "negative-size", "warn-beyond-fail"],
)
def test_a_check_that_would_never_evaluate_or_never_warn_is_refused_in_admin(admin_client, fields, said):
    before = QualityCheck.objects.count()
    response = admin_client.post("/admin/quality/qualitycheck/add/", _check_form(**fields))
    assert response.status_code == 200
    assert said in response.content.decode()
    assert QualityCheck.objects.count() == before


def test_a_sound_check_is_saved_and_every_seeded_check_is_sound(admin_client):
    assert admin_client.post("/admin/quality/qualitycheck/add/", _check_form()).status_code == 302
    for check in QualityCheck.objects.all():
        check.full_clean()  # raises on any seeded check admin would refuse


@pytest.mark.parametrize("threshold", ["1.5", "-0.1"])
def test_a_pump_alert_threshold_outside_the_scores_range_is_refused_in_admin(admin_client, threshold):
    response = admin_client.post("/admin/quality/pumpalertsetting/add/", {"threshold": threshold, "enabled": "on"})
    assert response.status_code == 200
    assert "Ensure this value is" in response.content.decode()
    assert not PumpAlertSetting.objects.exists()
