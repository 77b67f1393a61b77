"""Valid requests for every route, so that an access probe is decided by who asks and whose
record it names, never by a malformed body (which might be refused first, with 422 or 428)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tests.factories.patients import patient_payload
from tests.web.helpers import form_data

# Far above any id the tests make, below every integer limit of the databases.
MISSING_ID = 987_654_321
IF_MATCH = {"If-Match": '"1"'}

_PLAN_FORM = {
    "plan_type": "oral_titration",
    "indication": "multiple_sclerosis",
    "setting": "outpatient",
    "start_date": "2031-03-03",
    "target_daily_dose": "30",
}
_REFILL_FORM = {
    "reservoir_ml": "40",
    "alarm_volume_ml": "2",
    "concentration_mcg_per_ml": "500",
    "daily_dose": "400",
    "fill_date": "2031-03-03",
    "max_refill_interval_days": "180",
}
_REASON = {"reason": "Access test: a reason given."}
_RECORDED_REFILL = {
    "filled_on": "2026-12-01",
    "reservoir_ml": "20",
    "alarm_volume_ml": "2",
    "concentration_mcg_per_ml": "500",
    "max_refill_interval_days": "180",
}


def fill_path(path: str, ids: Mapping[str, int | str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: str(ids[m.group(1)]), path)


def web_form(method: str, path: str) -> dict[str, str]:
    """The form a page would post to this route (empty for GETs and unknown admin forms)."""
    if method != "POST":
        return {}
    if path == "/patients":
        return form_data()
    if path == "/patients/{patient_id}":
        return form_data(version="1")
    if path.endswith(("/plans/preview", "/patients/{patient_id}/plans")):
        return dict(_PLAN_FORM)
    if path.endswith(("/revise", "/revise/preview")):
        return {**_PLAN_FORM, "version": "1", **_REASON}
    if path.endswith(("/hold", "/resume", "/discontinue", "/archive")):
        return {"version": "1", **_REASON}
    if path.endswith("/reviews"):
        return {"version": "1", "note": "Checked."}
    if path.endswith("/refill"):
        return dict(_REFILL_FORM)
    if path.endswith("/observations"):
        return {"observed_on": "2026-12-01", "benefit": "clear"}
    if path.endswith("/act"):
        return {"version": "1"}
    if path.endswith("/refills"):
        return {**_RECORDED_REFILL}
    return {}


def preview_body() -> dict[str, Any]:
    return {
        "plan_type": "oral_titration",
        "start_date": "2031-03-03",
        "indication": "multiple_sclerosis",
        "setting": "outpatient",
        "target_daily_dose": {"value": 30, "unit": "mg"},
        "overrides": [],
    }


def api_body(method: str, path: str) -> dict[str, Any] | None:
    """A body the route's schema accepts, or None for routes that take none."""
    if method in ("GET", "DELETE") or path.endswith("/calendar-feed"):
        return None  # no body: reads, deletes, making a calendar feed
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/api/v1/patients"): patient_payload(),
        ("PATCH", "/api/v1/patients/{patient_id}"): {"weight_kg": 71},
        # No EHR is configured in these tests: an allowed scope gets 422 naming `ehr`.
        ("POST", "/api/v1/patients/import"): {"ehr": "ward", "identifier": {"value": "M1"}},
        ("POST", "/api/v1/patients/{patient_id}/archive"): _REASON,
        ("POST", "/api/v1/plans/preview"): {
            **preview_body(),
            "patient": {
                "sex": "female",
                "birth_date": "1981-05-02",
                "weight_kg": 70,
                "height_cm": 168,
                "creatinine_clearance_ml_min": 90,
            },
        },
        ("POST", "/api/v1/patients/{patient_id}/plans"): {**preview_body(), "acknowledged": []},
        ("POST", "/api/v1/plans/{plan_id}/versions"): {
            **preview_body(),
            "acknowledged": [],
            **_REASON,
        },
        ("POST", "/api/v1/plans/{plan_id}/hold"): _REASON,
        ("POST", "/api/v1/protocols/{protocol_id}/versions"): {
            "parameters": {"interval_days": {"value": "7", "source": "Clinic guideline"}}
        },
        # Version 1 is approved already: an allowed scope gets 409.
        ("POST", "/api/v1/protocols/{protocol_id}/versions/{version}/approve"): {
            "effective_from": "2030-01-01"
        },
        ("POST", "/api/v1/plans/{plan_id}/resume"): _REASON,
        ("POST", "/api/v1/plans/{plan_id}/discontinue"): _REASON,
        ("POST", "/api/v1/plans/{plan_id}/reviews"): {"acknowledged": [], "note": "Checked."},
        ("POST", "/api/v1/plans/{plan_id}/observations"): {
            "observed_on": "2026-12-01",
            "benefit": "clear",
        },
        ("POST", "/api/v1/plans/{plan_id}/observations/{observation_id}/act"): {},
        ("POST", "/api/v1/plans/{plan_id}/refills"): {
            "filled_on": "2026-12-01",
            "reservoir_ml": 20,
            "alarm_volume_ml": 2,
            "concentration_mcg_per_ml": 500,
            "max_refill_interval_days": 180,
        },
        ("POST", "/api/v1/itb/refill"): {
            "reservoir_ml": 40,
            "alarm_volume_ml": 2,
            "concentration_mcg_per_ml": 500,
            "daily_dose": {"value": 400, "unit": "mcg"},
            "fill_date": "2031-03-03",
            "max_refill_interval_days": 180,
        },
    }
    if (method, path) not in bodies:
        raise KeyError(f"no sample body for {method} {path}: add one to access_requests.py")
    return dict(bodies[(method, path)])
