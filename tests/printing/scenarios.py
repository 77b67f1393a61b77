"""The five printed-schedule scenarios, stored through the public API as a client would.

Inputs follow the worked scenarios of CLINICAL_RULES.md §12 (SC-01 adult, an older adult with
moderate renal impairment, SC-18 young child on solution, SC-25 taper, SC-21 intrathecal).
Every patient is made up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.factories.patients import patient_payload

START = "2026-12-01"


@dataclass(frozen=True)
class Stored:
    scenario: str
    plan_id: int
    patient: dict[str, Any]
    plan: dict[str, Any]  # the stored plan as the API returns it


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plan_type": "oral_titration",
        "start_date": START,
        "indication": "multiple_sclerosis",
        "setting": "outpatient",
        "target_daily_dose": None,
        "current_daily_dose": None,
        "step_interval_days": None,
        "doses_per_day": None,
        "formulation": None,
        "intrathecal": None,
        "overrides": [],
        "acknowledged": [],
    }
    body.update(overrides)
    return body


SCENARIOS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # SC-01: 80 kg man, normal kidneys, 5 mg three times a day up to 60 mg/day.
    "adult": (
        {"sex": "male", "weight_kg": 80, "height_cm": 180, "medications": []},
        _body(target_daily_dose={"value": 60, "unit": "mg"}),
    ),
    # 78 years, clearance 40 mL/min: the slowest of the older-adult and renal schedules.
    "older_renal": (
        {
            "birth_date": "1948-03-01",
            "serum_creatinine": None,
            "creatinine_clearance_ml_min": 40,
            "medications": [],
        },
        _body(acknowledged=["elderly_renal_impairment", "moderate_renal_impairment"]),
    ),
    # SC-18: 5 years, 18 kg, cerebral palsy: 1 mg/mL solution four times a day.
    "child_solution": (
        {
            "birth_date": "2021-06-01",
            "weight_kg": 18,
            "height_cm": 108,
            "serum_creatinine": None,
            "creatinine_clearance_ml_min": 110,
            "medications": [],
        },
        _body(indication="cerebral_palsy"),
    ),
    # SC-25: 80 mg/day tapered by 20 mg/day every 5 days, stop on day 16.
    "taper": (
        {"sex": "female", "weight_kg": 70, "medications": []},
        _body(plan_type="oral_taper", current_daily_dose={"value": 80, "unit": "mg"}),
    ),
    # SC-21 screening: 50 mcg without effect, 75 mcg positive.
    "itb_screening": (
        {
            "sex": "male",
            "birth_date": "1992-04-04",
            "weight_kg": 75,
            "spinal_injury_level": "T4",
            "medications": [],
        },
        _body(
            plan_type="itb_screening",
            indication="spinal_cord_injury",
            intrathecal={"screening_responses": [False, True]},
            acknowledged=["itb_high_withdrawal_risk"],
        ),
    ),
    # SC-21 after the implant: 2 × 75 = 150 mcg/day, +10 % a day.
    "itb_titration": (
        {
            "sex": "male",
            "birth_date": "1992-04-04",
            "weight_kg": 75,
            "spinal_injury_level": "T4",
            "medications": [],
        },
        _body(
            plan_type="itb_titration",
            indication="spinal_cord_injury",
            intrathecal={
                "effective_bolus": {"value": 75, "unit": "mcg"},
                "effect_duration_hours": 6,
                "step_percent": None,
                "days": None,
            },
            acknowledged=["itb_high_withdrawal_risk"],
        ),
    ),
}


def store(client: httpx.Client, headers: dict[str, str], name: str, **patient: Any) -> Stored:
    """Stores the scenario's patient (with any field overridden) and its plan, version 1."""
    patient_fields, plan_body = SCENARIOS[name]
    payload = patient_payload(**{**patient_fields, **patient})
    created = client.post("/api/v1/patients", json=payload, headers=headers)
    assert created.status_code == 201, created.text
    plan = client.post(
        f"/api/v1/patients/{created.json()['id']}/plans", json=plan_body, headers=headers
    )
    assert plan.status_code == 201, plan.text
    return Stored(name, plan.json()["id"], created.json(), plan.json())


def revise(client: httpx.Client, headers: dict[str, str], stored: Stored, **changes: Any) -> None:
    """Adds version 2 (so version 1 becomes superseded)."""
    _, plan_body = SCENARIOS[stored.scenario]
    body = {**plan_body, **changes, "reason": "Slower steps after review"}
    response = client.post(
        f"/api/v1/plans/{stored.plan_id}/versions",
        json=body,
        headers={**headers, "If-Match": '"1"'},
    )
    assert response.status_code == 201, response.text
