"""Plan preview and stored plans through the public API (API.md §3–4)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, PlanRecord
from tests.factories.patients import patient_payload

ADULT = {
    "birth_date": "1981-05-02",
    "sex": "male",
    "weight_kg": 80,
    "height_cm": 180,
    "serum_creatinine": {"value": 0.9, "unit": "mg/dL"},
    "creatinine_clearance_ml_min": None,
    "dialysis": False,
    "conditions": [],
    "medications": ["amlodipine"],
    "pregnant": False,
    "breastfeeding": False,
    "spinal_injury_level": None,
    "brain_injury_date": None,
}


def preview_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plan_type": "oral_titration",
        "start_date": "2026-12-01",
        "indication": "multiple_sclerosis",
        "setting": "outpatient",
        "patient": dict(ADULT),
        "target_daily_dose": {"value": 60, "unit": "mg"},
        "current_daily_dose": None,
        "step_interval_days": None,
        "doses_per_day": None,
        "formulation": None,
        "intrathecal": None,
        "overrides": [],
    }
    body.update(overrides)
    return body


def preview(client: TestClient, headers: dict[str, str], **overrides: Any):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/plans/preview", json=preview_body(**overrides), headers=headers)


def test_the_api_md_example_previews_the_standard_adult_schedule(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = preview(client, auth_headers)
    assert response.status_code == 200, response.text
    plan = response.json()
    assert (plan["status"], plan["route"], plan["unit"]) == ("ready", "oral", "mg")
    assert plan["renal"] == {
        **plan["renal"],
        "crcl_ml_min": 117.3,
        "band": "normal",
        "weight_basis": "total",
    }
    assert plan["limits"]["max_daily_dose"] == {"value": 80, "unit": "mg"}
    first = plan["steps"][0]
    assert (first["start_day"], first["end_day"], first["start_date"], first["end_date"]) == (
        1,
        3,
        "2026-12-01",
        "2026-12-03",
    )
    assert first["daily_dose"] == {"value": 15, "unit": "mg"}
    assert [a["time_of_day"] for a in first["administrations"]] == ["morning", "midday", "evening"]
    assert [a["dose"] for a in first["administrations"]] == [{"value": 5, "unit": "mg"}] * 3
    assert [s["daily_dose"]["value"] for s in plan["steps"]] == [15, 30, 45, 60]
    assert plan["milestones"][0]["day"] == 43
    assert plan["milestones"][0]["date"] == "2027-01-12"
    codes = {f["code"]: f for f in plan["findings"]}
    assert codes["antihypertensive"]["severity"] == "moderate"
    assert codes["antihypertensive"]["rule"] == "D-6"
    assert plan["protocol"]["id"] == "oral-adult"
    assert len(plan["protocol"]["sha256"]) == 64


def test_every_dose_in_a_preview_carries_its_unit_and_is_a_number(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    plan = preview(client, auth_headers).json()
    doses = [s["daily_dose"] for s in plan["steps"]] + [
        a["dose"] for s in plan["steps"] for a in s["administrations"]
    ]
    assert doses
    assert all(set(d) == {"value", "unit"} and d["unit"] == "mg" for d in doses)
    assert all(
        isinstance(d["value"], int | float) and not isinstance(d["value"], bool) for d in doses
    )


def test_an_oral_plan_given_mcg_is_refused_not_converted(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = preview(client, auth_headers, target_daily_dose={"value": 60000, "unit": "mcg"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "wrong_unit"
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_target_above_the_hard_limit_is_a_422_problem(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = preview(
        client, auth_headers, target_daily_dose={"value": 100.5, "unit": "mg"}, setting="inpatient"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "target_above_hard_limit"


def test_a_blocked_plan_is_an_answer_with_no_steps_and_every_finding(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    patient = {**ADULT, "conditions": ["epilepsy"], "medications": ["oxycodone"]}
    response = preview(client, auth_headers, patient=patient)
    assert response.status_code == 200
    plan = response.json()
    assert plan["status"] == "blocked"
    assert plan["steps"] == []
    severities = {f["code"]: f["severity"] for f in plan["findings"]}
    assert severities["epilepsy"] == "block"
    assert severities["opioid"] == "major"


def test_an_override_with_a_reason_lifts_a_block(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    patient = {**ADULT, "conditions": ["epilepsy"]}
    overrides = [{"code": "epilepsy", "reason": "seizure-free 10 years, neurologist agrees"}]
    plan = preview(client, auth_headers, patient=patient, overrides=overrides).json()
    assert plan["status"] == "ready"
    assert plan["steps"]
    assert plan["overrides"] == overrides


def test_hypersensitivity_cannot_be_overridden(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    patient = {**ADULT, "conditions": ["hypersensitivity"]}
    response = preview(
        client,
        auth_headers,
        patient=patient,
        overrides=[{"code": "hypersensitivity", "reason": "x"}],
    )
    assert response.status_code == 422
    assert response.json()["code"] == "override_not_allowed"


def test_an_unknown_medication_is_never_silently_ignored(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    plan = preview(client, auth_headers, patient={**ADULT, "medications": ["zorblaxamine"]}).json()
    assert "unrecognised_medication" in {f["code"] for f in plan["findings"]}


def test_unknown_renal_function_is_a_major_finding(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    plan = preview(client, auth_headers, patient={**ADULT, "serum_creatinine": None}).json()
    assert plan["renal"]["band"] == "unknown"
    assert "renal_function_unknown" in {
        f["code"] for f in plan["findings"] if f["severity"] == "major"
    }


def test_an_intrathecal_titration_is_in_mcg_with_continuous_administrations(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    body = {
        "effective_bolus": {"value": 75, "unit": "mcg"},
        "effect_duration_hours": 6,
        "step_percent": None,
        "days": None,
    }
    patient = {**ADULT, "spinal_injury_level": "T10"}
    itb = {
        "plan_type": "itb_titration",
        "indication": "spinal_cord_injury",
        "target_daily_dose": None,
    }
    plan = preview(client, auth_headers, patient=patient, intrathecal=body, **itb).json()
    assert (plan["route"], plan["unit"]) == ("intrathecal", "mcg")
    assert plan["steps"][0]["daily_dose"] == {"value": 150, "unit": "mcg"}
    assert {a["time_of_day"] for s in plan["steps"] for a in s["administrations"]} == {"continuous"}


def test_the_openapi_document_lists_the_enums(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    text_schema = str(schema)
    for value in (
        "oral_titration",
        "itb_screening",
        "multiple_sclerosis",
        "peripheral_injury",
        "umol/L",
        "mcg",
    ):
        assert value in text_schema
    assert "/api/v1/plans/preview" in schema["paths"]


def test_preview_needs_the_preview_scope(client: TestClient, auth_headers_factory) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/plans/preview", json=preview_body(), headers=auth_headers_factory("plans:read")
    )
    assert response.status_code == 403


# Stored plans -------------------------------------------------------------------------------


@pytest.fixture
def patient_id(client: TestClient, auth_headers: dict[str, str]) -> int:
    payload = patient_payload(sex="male", weight_kg=80, height_cm=180, medications=["oxycodone"])
    return int(client.post("/api/v1/patients", json=payload, headers=auth_headers).json()["id"])


def plan_body(**overrides: Any) -> dict[str, Any]:
    body = preview_body(**overrides)
    body.pop("patient")
    body.setdefault("acknowledged", ["opioid"])
    return body


def test_a_stored_plan_needs_every_major_finding_acknowledged(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    response = client.post(
        f"/api/v1/patients/{patient_id}/plans",
        json=plan_body(acknowledged=[]),
        headers=auth_headers,
    )
    assert response.status_code == 422
    assert "opioid" in response.json()["detail"]


def test_storing_a_plan_gives_201_location_etag_and_version_1(
    client: TestClient, auth_headers: dict[str, str], patient_id: int, db: Session
) -> None:
    response = client.post(
        f"/api/v1/patients/{patient_id}/plans", json=plan_body(), headers=auth_headers
    )
    assert response.status_code == 201, response.text
    plan = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"].endswith(f"/api/v1/plans/{plan['id']}")
    assert (plan["version"], plan["superseded"], plan["state"], plan["acknowledged"]) == (
        1,
        False,
        "active",
        ["opioid"],
    )
    assert plan["created_by"] == "test_client"
    assert plan["created_by_kind"] == "client"
    fetched = client.get(f"/api/v1/plans/{plan['id']}", headers=auth_headers)
    assert fetched.headers["etag"] == '"1"'
    assert fetched.json()["steps"] == plan["steps"]
    actions = set(
        db.scalars(
            select(AuditEventRecord.action).where(AuditEventRecord.entity_id == str(plan["id"]))
        )
    )
    assert {"plan.create", "plan.acknowledge", "plan.read"} <= actions


def test_a_revision_adds_version_2_and_keeps_version_1_unchanged(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    created = client.post(
        f"/api/v1/patients/{patient_id}/plans", json=plan_body(), headers=auth_headers
    ).json()
    url = f"/api/v1/plans/{created['id']}/versions"
    revision = plan_body(
        target_daily_dose={"value": 45, "unit": "mg"}, reason="slower, patient drowsy"
    )
    assert client.post(url, json=revision, headers=auth_headers).status_code == 428
    response = client.post(url, json=revision, headers={**auth_headers, "If-Match": '"1"'})
    assert response.status_code == 201, response.text
    assert response.json()["reason"] == "slower, patient drowsy"
    stale = client.post(url, json=revision, headers={**auth_headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    versions = client.get(url, headers=auth_headers).json()
    assert [(v["version"], v["superseded"]) for v in versions] == [(1, True), (2, False)]
    assert versions[0]["steps"] == created["steps"]
    assert versions[0]["content_sha256"] == created["content_sha256"]
    assert versions[1]["limits"]["target_daily_dose"] == {"value": 45, "unit": "mg"}


def test_a_saved_version_cannot_be_changed_even_by_sql(
    client: TestClient, auth_headers: dict[str, str], patient_id: int, db: Session
) -> None:
    created = client.post(
        f"/api/v1/patients/{patient_id}/plans", json=plan_body(), headers=auth_headers
    ).json()
    nested = db.begin_nested()
    with pytest.raises(Exception, match="immutable"):
        db.execute(
            text("UPDATE plan_version SET plan_json = '{}' WHERE plan_id = :id"),
            {"id": created["id"]},
        )
    nested.rollback()


def test_a_retried_create_with_the_same_idempotency_key_makes_one_plan(
    client: TestClient, auth_headers: dict[str, str], patient_id: int, db: Session
) -> None:
    headers = {**auth_headers, "Idempotency-Key": "retry-123"}
    responses = [
        client.post(f"/api/v1/patients/{patient_id}/plans", json=plan_body(), headers=headers)
        for _ in range(3)
    ]
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert (
        db.scalar(
            select(func.count()).select_from(PlanRecord).where(PlanRecord.patient_id == patient_id)
        )
        == 1
    )
    creates = db.scalar(
        select(func.count()).where(
            AuditEventRecord.action == "plan.create", AuditEventRecord.patient_id == patient_id
        )
    )
    assert creates == 1
    other = client.post(
        f"/api/v1/patients/{patient_id}/plans",
        json=plan_body(start_date="2026-12-02"),
        headers=headers,
    )
    assert other.status_code == 409


def test_a_blocked_plan_cannot_be_stored_without_an_override(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    payload = patient_payload(conditions=["epilepsy"], medications=[])
    patient = client.post("/api/v1/patients", json=payload, headers=auth_headers).json()
    url = f"/api/v1/patients/{patient['id']}/plans"
    assert (
        client.post(url, json=plan_body(acknowledged=[]), headers=auth_headers).status_code == 422
    )
    overrides = [{"code": "epilepsy", "reason": "controlled, neurologist agrees"}]
    response = client.post(
        url, json=plan_body(acknowledged=[], overrides=overrides), headers=auth_headers
    )
    assert response.status_code == 201, response.text


def test_hold_resume_and_discontinue_need_reasons_and_follow_the_states(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    plan = client.post(
        f"/api/v1/patients/{patient_id}/plans", json=plan_body(), headers=auth_headers
    ).json()
    base = f"/api/v1/plans/{plan['id']}"
    assert client.post(f"{base}/hold", json={"reason": ""}, headers=auth_headers).status_code == 422
    assert (
        client.post(f"{base}/hold", json={"reason": "admitted"}, headers=auth_headers).json()[
            "state"
        ]
        == "on_hold"
    )
    assert (
        client.post(f"{base}/resume", json={"reason": "home"}, headers=auth_headers).json()["state"]
        == "active"
    )
    stopped = client.post(
        f"{base}/discontinue", json={"reason": "no benefit"}, headers=auth_headers
    )
    assert stopped.json()["state"] == "discontinued"
    assert (
        client.post(f"{base}/resume", json={"reason": "oops"}, headers=auth_headers).status_code
        == 409
    )


def test_the_refill_calculator_follows_sc21_and_refuses_to_guess(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    body = {"reservoir_ml": 40, "alarm_volume_ml": 2, "concentration_mcg_per_ml": 500,
            "daily_dose": {"value": 400, "unit": "mcg"}, "fill_date": "2026-12-01",
            "max_refill_interval_days": 180}  # fmt: skip
    refill = client.post("/api/v1/itb/refill", json=body, headers=auth_headers).json()
    assert refill["days_to_alarm"] == 47.5
    assert refill["daily_volume_ml"] == 0.8
    assert refill["findings"] == []
    body.pop("alarm_volume_ml")
    missing = client.post("/api/v1/itb/refill", json=body, headers=auth_headers)
    assert missing.status_code == 422
    assert missing.json()["code"] == "alarm_volume_missing"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"max_refill_interval_days": None}, "refill_interval_missing", "max_refill_interval_days"),
        ({"concentration_mcg_per_ml": 2001}, "concentration_out_of_range",
         "concentration_mcg_per_ml"),
        ({"concentration_mcg_per_ml": 49}, "concentration_out_of_range",
         "concentration_mcg_per_ml"),
        ({"reservoir_ml": 60}, "reservoir_out_of_range", "reservoir_ml"),
        ({"reservoir_ml": 5, "alarm_volume_ml": 1}, "reservoir_out_of_range", "reservoir_ml"),
    ],
)  # fmt: skip
def test_the_refill_calculator_refuses_what_no_pump_holds(
    client: TestClient, auth_headers: dict[str, str], changes: dict[str, object], code: str,
    field: str,
) -> None:  # fmt: skip
    body = {"reservoir_ml": 40, "alarm_volume_ml": 2, "concentration_mcg_per_ml": 500,
            "daily_dose": {"value": 400, "unit": "mcg"}, "fill_date": "2026-12-01",
            "max_refill_interval_days": 180, **changes}  # fmt: skip
    response = client.post("/api/v1/itb/refill", json=body, headers=auth_headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert response.json()["errors"][0]["loc"] == ["body", field]


def test_the_refill_answer_carries_its_findings(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    body = {"reservoir_ml": 10, "alarm_volume_ml": 2, "concentration_mcg_per_ml": 50,
            "daily_dose": {"value": 400, "unit": "mcg"}, "fill_date": "2026-12-01",
            "max_refill_interval_days": 180}  # fmt: skip
    refill = client.post("/api/v1/itb/refill", json=body, headers=auth_headers).json()
    assert {(f["code"], f["severity"]) for f in refill["findings"]} == {
        ("refill_due_within_buffer", "major"),
        ("diluted_concentration", "info"),
    }
    assert refill["window_start"] == "2026-12-02"


def test_a_patients_plans_are_listed_newest_first_at_their_current_version(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    url = f"/api/v1/patients/{patient_id}/plans"
    first = client.post(url, json=plan_body(), headers=auth_headers).json()
    revision = plan_body(target_daily_dose={"value": 30, "unit": "mg"}, reason="lower")
    headers = {**auth_headers, "If-Match": '"1"'}
    client.post(f"/api/v1/plans/{first['id']}/versions", json=revision, headers=headers)
    # One open plan per route: the second follows the first, which ends as completed.
    follow = plan_body(start_date="2026-12-05", supersedes_plan_id=first["id"])
    second = client.post(url, json=follow, headers=auth_headers).json()
    listed = client.get(url, headers=auth_headers).json()
    assert [(p["id"], p["version"]) for p in listed] == [(second["id"], 1), (first["id"], 2)]
    assert [p["state"] for p in listed] == ["active", "completed"]
