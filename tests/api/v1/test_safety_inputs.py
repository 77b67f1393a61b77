"""Issue 11 (A.6.7–A.6.12) and issue 13's engine 500s through the API: every input inside the
request schema answers a plan or a 422 naming its field, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.patients import patient_payload

PREVIEW = "/api/v1/plans/preview"


def preview(**changes: Any) -> dict[str, Any]:
    patient = {
        "birth_date": "1981-05-02", "sex": "male", "weight_kg": 80, "height_cm": 180,
        "serum_creatinine": {"value": 0.9, "unit": "mg/dL"},
        **changes.pop("patient", {}),
    }  # fmt: skip
    return {
        "plan_type": "oral_titration", "start_date": "2026-12-01",
        "indication": "multiple_sclerosis", "patient": patient, **changes,
    }  # fmt: skip


def itb(**intrathecal: Any) -> dict[str, Any]:
    return {
        "effective_bolus": {"value": 100, "unit": "mcg"}, "effect_duration_hours": 6,
        **intrathecal,
    }  # fmt: skip


def refused(response: Any, loc: list[str]) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert loc in [error["loc"] for error in body["errors"]], body
    return body


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"start_date": "9999-12-31"}, ["body", "start_date"]),
        ({"start_date": "1899-12-31"}, ["body", "start_date"]),
        ({"patient": {"birth_date": "1850-01-01"}}, ["body", "patient", "birth_date"]),
        ({"patient": {"brain_injury_date": "2201-01-01"}},
         ["body", "patient", "brain_injury_date"]),
        ({"patient": {"weight_kg": 9_999_999, "serum_creatinine": {"value": 0.0001,
                                                                     "unit": "mg/dL"}}},
         ["body", "patient", "weight_kg"]),
        ({"patient": {"serum_creatinine": {"value": 0.0001, "unit": "mg/dL"}}},
         ["body", "patient", "serum_creatinine"]),
        ({"patient": {"height_cm": 400}}, ["body", "patient", "height_cm"]),
        ({"patient": {"age_years": 500, "birth_date": None}}, ["body", "age_years"]),
        ({"patient": {"pregnant": True}}, ["body", "patient", "pregnant"]),
        ({"patient": {"breastfeeding": True}}, ["body", "patient", "breastfeeding"]),
    ],
)  # fmt: skip
def test_impossible_inputs_are_422_naming_the_field(
    client: TestClient, auth_headers: dict[str, str], changes: dict[str, Any], loc: list[str]
) -> None:
    refused(client.post(PREVIEW, json=preview(**changes), headers=auth_headers), loc)


def test_itb_90_days_at_30_percent_holds_at_the_ceiling(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    body = preview(plan_type="itb_titration", intrathecal=itb(step_percent=30, days=90))
    plan = client.post(PREVIEW, json=body, headers=auth_headers).json()
    assert max(step["daily_dose"]["value"] for step in plan["steps"]) == 1000
    assert [m["kind"] for m in plan["milestones"]] == ["ceiling_reached"]
    assert "itb_large_step" in {f["code"] for f in plan["findings"]}


def test_itb_target_above_2000_is_422_target_above_hard_limit(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    body = preview(
        plan_type="itb_titration", intrathecal=itb(),
        target_daily_dose={"value": 2001, "unit": "mcg"},
    )  # fmt: skip
    problem = refused(
        client.post(PREVIEW, json=body, headers=auth_headers), ["body", "target_daily_dose"]
    )
    assert problem["code"] == "target_above_hard_limit"


def test_medications_are_recognised_or_asked_about(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    medications = ["Oxycodon/Naloxon 10/5 mg", "Tilidin 50 mg", "Diazepam", "Zauberpille"]
    plan = client.post(
        PREVIEW, json=preview(patient={"medications": medications}), headers=auth_headers
    ).json()
    severities = {f["code"]: f["severity"] for f in plan["findings"]}
    assert severities["opioid"] == "major"
    assert severities["multiple_cns_depressants"] == "major"
    assert severities["unrecognised_medication"] == "major"
    assert {p["id"] for p in plan["protocols"]} >= {"medication-dictionary"}


def test_a_child_with_creatinine_and_height_gets_bedside_schwartz(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    child = {"birth_date": "2020-06-01", "weight_kg": 20, "height_cm": 115,
             "serum_creatinine": {"value": 0.4, "unit": "mg/dL"}}  # fmt: skip
    plan = client.post(PREVIEW, json=preview(patient=child), headers=auth_headers).json()
    assert plan["renal"]["method"] == "bedside_schwartz"
    assert plan["renal"]["crcl_ml_min"] == 118.7
    assert "renal_function_unknown" not in {f["code"] for f in plan["findings"]}


def test_six_year_old_with_creatinine_and_height_on_file_gets_schwartz(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    """Issue 11: the stored 6-year-old with creatinine and height got "No serum creatinine"."""
    child = patient_payload(
        birth_date="2020-06-01", weight_kg=20, height_cm=115,
        serum_creatinine={"value": 0.4, "unit": "mg/dL"}, creatinine_clearance_ml_min=None,
        medications=[],
    )  # fmt: skip
    created = client.post("/api/v1/patients", json=child, headers=auth_headers)
    assert created.status_code == 201, created.text
    body = {"plan_type": "oral_titration", "start_date": "2026-12-01",
            "indication": "cerebral_palsy", "acknowledged": []}  # fmt: skip
    plan = client.post(
        f"/api/v1/patients/{created.json()['id']}/plans", json=body, headers=auth_headers
    )
    assert plan.status_code == 201, plan.text
    assert plan.json()["renal"]["method"] == "bedside_schwartz"
    assert "renal_function_unknown" not in {f["code"] for f in plan.json()["findings"]}
