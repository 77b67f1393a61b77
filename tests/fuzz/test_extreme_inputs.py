"""Extreme numbers and dates through the API (issue 13), beside Schemathesis: the schema
admits them (a JSON number, a date), so the generated bodies rarely reach them. Hypothesis
(derandomised) builds preview and refill bodies from extremes and edges over the whole
schema ranges; every answer is a 200 or a 422 problem, never a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.factories.users import make_token

pytestmark = pytest.mark.fuzz

EDGES = st.sampled_from(
    [0, 0.0001, 1, 0.3, 20, 49.9, 50, 250, 350, 350.1, 500, 1000, 2000, 2000.1, 5000,
     9_999_999, 99_999_999.9999, 10**12, 2**63, 1e300, -1, -0.0001]
)  # fmt: skip
EXTREME_NUMBERS = EDGES | st.decimals(-1, 100_000_000, places=4, allow_nan=False).map(float)
EXTREME_DATES = st.sampled_from(
    ["0001-01-01", "1899-12-31", "1900-01-01", "2026-12-01", "2200-12-31", "2201-01-01",
     "9999-12-31"]
)  # fmt: skip
SETTINGS = settings(
    max_examples=60, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip


@pytest.fixture
def auth_headers(db: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(db, name='extremes')}"}


def _ok_or_problem(response: Any) -> None:
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.headers["content-type"].startswith("application/problem+json")


@st.composite
def preview_bodies(draw: st.DrawFn) -> dict[str, Any]:
    plan_type = draw(st.sampled_from(["oral_titration", "oral_taper", "itb_screening",
                                      "itb_titration"]))  # fmt: skip
    unit = "mcg" if plan_type.startswith("itb") else "mg"
    patient: dict[str, Any] = {
        "sex": draw(st.sampled_from(["female", "male"])),
        "birth_date": draw(EXTREME_DATES),
        "weight_kg": draw(EXTREME_NUMBERS),
        "height_cm": draw(EXTREME_NUMBERS),
        "serum_creatinine": {"value": draw(EXTREME_NUMBERS),
                             "unit": draw(st.sampled_from(["mg/dL", "umol/L"]))},
        "pregnant": draw(st.booleans()),
        "medications": draw(st.lists(st.sampled_from(
            ["Oxycodon/Naloxon 10/5 mg", "Targin", "Lioresal", "Rượu", "zzz"]), max_size=3)),
    }  # fmt: skip
    if draw(st.booleans()):
        patient["creatinine_clearance_ml_min"] = draw(EXTREME_NUMBERS)
    body: dict[str, Any] = {
        "plan_type": plan_type,
        "start_date": draw(EXTREME_DATES),
        "indication": draw(st.sampled_from(["multiple_sclerosis", "cerebral_palsy"])),
        "patient": patient,
        "target_daily_dose": {"value": draw(EXTREME_NUMBERS), "unit": unit},
        "current_daily_dose": {"value": draw(EXTREME_NUMBERS), "unit": "mg"},
    }
    if plan_type.startswith("itb"):
        body["intrathecal"] = {
            "effective_bolus": {"value": draw(EXTREME_NUMBERS), "unit": "mcg"},
            "effect_duration_hours": draw(st.sampled_from([0.0001, 6, 8, 72])),
            "step_percent": draw(st.sampled_from([None, 5, 10, 15, 30, 100])),
            "days": draw(st.sampled_from([None, 1, 90])),
        }
    return body


@st.composite
def refill_bodies(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "reservoir_ml": draw(EXTREME_NUMBERS),
        "alarm_volume_ml": draw(EXTREME_NUMBERS),
        "concentration_mcg_per_ml": draw(EXTREME_NUMBERS),
        "daily_dose": {"value": draw(EXTREME_NUMBERS), "unit": "mcg"},
        "fill_date": draw(EXTREME_DATES),
        "max_refill_interval_days": draw(st.sampled_from([None, 1, 6, 180, 365])),
    }


@SETTINGS
@given(body=preview_bodies())
def test_extreme_previews_answer_a_plan_or_a_422(
    client: TestClient, auth_headers: dict[str, str], body: dict[str, Any]
) -> None:
    _ok_or_problem(client.post("/api/v1/plans/preview", json=body, headers=auth_headers))


@SETTINGS
@given(body=refill_bodies())
def test_extreme_refills_answer_dates_or_a_422(
    client: TestClient, auth_headers: dict[str, str], body: dict[str, Any]
) -> None:
    _ok_or_problem(client.post("/api/v1/itb/refill", json=body, headers=auth_headers))
