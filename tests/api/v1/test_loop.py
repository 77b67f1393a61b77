"""The titration loop through the API (API.md §5.2): observations and their suggestions,
acting on one in one step, one open plan per route, review outcomes, the pump's refills
and the worklist."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.api.v1.test_plans import plan_body
from tests.factories.patients import patient_payload
from tests.factories.users import make_token

TODAY = date.today()


@pytest.fixture
def patient_id(client: TestClient, auth_headers: dict[str, str]) -> int:
    payload = patient_payload(sex="male", weight_kg=80, height_cm=180, medications=["oxycodone"])
    return int(client.post("/api/v1/patients", json=payload, headers=auth_headers).json()["id"])


def _titration(client: TestClient, headers: dict[str, str], patient_id: int, days_ago: int,
               **changes: Any) -> dict[str, Any]:  # fmt: skip
    body = plan_body(start_date=(TODAY - timedelta(days=days_ago)).isoformat(), **changes)
    response = client.post(f"/api/v1/patients/{patient_id}/plans", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _observe(client: TestClient, headers: dict[str, str], plan_id: int, **fields: Any):  # type: ignore[no-untyped-def]
    body = {"observed_on": TODAY.isoformat(), **fields}
    return client.post(f"/api/v1/plans/{plan_id}/observations", json=body, headers=headers)


def _act(client: TestClient, headers: dict[str, str], plan_id: int, observation_id: int,
         version: int = 1):  # type: ignore[no-untyped-def]  # fmt: skip
    return client.post(
        f"/api/v1/plans/{plan_id}/observations/{observation_id}/act",
        headers=headers | {"If-Match": f'"{version}"'},
    )


def test_drowsiness_suggests_a_step_back_and_acting_continues_from_today_held(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    plan = _titration(client, auth_headers, patient_id, days_ago=5)  # day 6: 30 mg/day
    observed = _observe(
        client, auth_headers, plan["id"], adverse_effects=["drowsiness"],
        spasticity={"scale": "mas", "score": "1+"}, spasm_frequency=2, benefit="some",
        note="Drowsy in the afternoons.",
    )  # fmt: skip
    assert observed.status_code == 201, observed.text
    observation = observed.json()
    assert observation["suggestion"]["kind"] == "step_back"
    assert observation["suggestion"]["rule"] == "FU-2"
    assert "diminish with dose adjustment" in observation["suggestion"]["source"]
    assert observation["spasticity"] == {"scale": "mas", "score": "1+"}
    assert observation["decision"] is None

    acted = _act(client, auth_headers, plan["id"], observation["id"])
    assert acted.status_code == 201, acted.text
    revised = acted.json()
    assert (revised["id"], revised["version"]) == (plan["id"], 2)
    assert acted.headers["ETag"] == '"2"'
    assert "drowsiness" in revised["reason"]
    assert "FU-2" in revised["reason"]
    assert revised["steps"][0]["start_date"] == TODAY.isoformat()
    assert {s["daily_dose"]["value"] for s in revised["steps"]} == {15}  # the previous level

    listed = client.get(f"/api/v1/plans/{plan['id']}/observations", headers=auth_headers).json()
    assert listed[0]["decision"]["version"] == 2
    assert listed[0]["decision"]["action"] == "step_back"


def test_two_clinicians_acting_on_one_suggestion_make_one_version(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    plan = _titration(client, auth_headers, patient_id, days_ago=5)
    observation = _observe(client, auth_headers, plan["id"], adverse_effects=["dizziness"]).json()
    assert _act(client, auth_headers, plan["id"], observation["id"]).status_code == 201
    # The second clinician is refused, whichever version their page showed.
    assert _act(client, auth_headers, plan["id"], observation["id"]).status_code == 409
    again = _act(client, auth_headers, plan["id"], observation["id"], version=2)
    assert again.status_code == 409
    versions = client.get(f"/api/v1/plans/{plan['id']}/versions", headers=auth_headers).json()
    assert len(versions) == 2


def test_adverse_effects_on_the_first_level_hold_it(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    plan = _titration(client, auth_headers, patient_id, days_ago=1)  # day 2: 15 mg/day
    observation = _observe(client, auth_headers, plan["id"], adverse_effects=["nausea"]).json()
    assert observation["suggestion"]["kind"] == "hold"
    held = _act(client, auth_headers, plan["id"], observation["id"]).json()
    assert {s["daily_dose"]["value"] for s in held["steps"]} == {15}


@pytest.mark.parametrize("effect", ["seizure", "withdrawal_signs"])
def test_seizure_or_withdrawal_signs_send_to_a_clinician_never_a_one_step_change(
    client: TestClient, auth_headers: dict[str, str], patient_id: int, effect: str
) -> None:
    plan = _titration(client, auth_headers, patient_id, days_ago=5)
    observation = _observe(
        client, auth_headers, plan["id"], adverse_effects=["drowsiness", effect], benefit="clear"
    ).json()
    assert observation["suggestion"]["kind"] == "see_clinician"
    assert _act(client, auth_headers, plan["id"], observation["id"]).status_code == 409


def test_no_benefit_at_the_review_tapers_in_one_step_completing_the_titration(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    plan = _titration(client, auth_headers, patient_id, days_ago=44)  # day 45 ≥ review day 43
    observation = _observe(client, auth_headers, plan["id"], benefit="none").json()
    assert (observation["suggestion"]["kind"], observation["suggestion"]["rule"]) == (
        "taper", "FU-4"
    )  # fmt: skip
    acted = _act(client, auth_headers, plan["id"], observation["id"])
    assert acted.status_code == 201, acted.text
    taper = acted.json()
    assert taper["plan_type"] == "oral_taper"
    assert taper["supersedes_plan_id"] == plan["id"]
    assert taper["steps"][0]["start_date"] == TODAY.isoformat()
    assert taper["steps"][0]["daily_dose"]["value"] < 60
    assert taper["milestones"][-1]["kind"] == "stop"
    old = client.get(f"/api/v1/plans/{plan['id']}", headers=auth_headers).json()
    assert old["state"] == "completed"
    assert old["state_reason"] == f"followed by plan {taper['id']}"


def test_continue_and_bad_observations(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    plan = _titration(client, auth_headers, patient_id, days_ago=5)
    fine = _observe(client, auth_headers, plan["id"], benefit="clear").json()
    assert fine["suggestion"]["kind"] == "continue"
    assert _act(client, auth_headers, plan["id"], fine["id"]).status_code == 409
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert _observe(client, auth_headers, plan["id"], observed_on=tomorrow).status_code == 422
    assert (
        _observe(client, auth_headers, plan["id"], adverse_effects=["hiccups"]).status_code == 422
    )
    assert _observe(client, auth_headers, plan["id"], spasm_frequency=5).status_code == 422
    bad_scale = {"scale": "tardieu", "score": "1"}
    assert _observe(client, auth_headers, plan["id"], spasticity=bad_scale).status_code == 422
    assert _observe(client, auth_headers, 987654321).status_code == 404
    assert _act(client, auth_headers, plan["id"], 987654321).status_code == 404


def test_one_open_plan_per_route_unless_the_new_one_follows_it(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    plan = _titration(client, auth_headers, patient_id, days_ago=0)
    url = f"/api/v1/patients/{patient_id}/plans"
    second = client.post(url, json=plan_body(), headers=auth_headers)
    assert second.status_code == 409
    assert "supersedes_plan_id" in second.json()["detail"]
    taper = plan_body(plan_type="oral_taper", current_daily_dose={"value": 15, "unit": "mg"},
                      target_daily_dose=None, supersedes_plan_id=plan["id"])  # fmt: skip
    followed = client.post(url, json=taper, headers=auth_headers)
    assert followed.status_code == 201, followed.text
    assert followed.json()["supersedes_plan_id"] == plan["id"]
    old = client.get(f"/api/v1/plans/{plan['id']}", headers=auth_headers).json()
    assert old["state"] == "completed"
    revise = plan_body(reason="late change")
    stale = client.post(f"/api/v1/plans/{plan['id']}/versions", json=revise,
                        headers=auth_headers | {"If-Match": '"1"'})  # fmt: skip
    assert stale.status_code == 409  # a completed plan is not revised
    again = client.post(url, json=taper, headers=auth_headers)
    assert again.status_code == 409  # it cannot be followed twice
    observed = _observe(client, auth_headers, plan["id"], benefit="clear")
    assert observed.status_code == 409
    with_follow = plan_body(reason="x", supersedes_plan_id=plan["id"])
    refused = client.post(f"/api/v1/plans/{followed.json()['id']}/versions", json=with_follow,
                          headers=auth_headers | {"If-Match": '"1"'})  # fmt: skip
    assert refused.status_code == 422


def test_a_plan_of_another_patient_cannot_be_followed(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    plan = _titration(client, auth_headers, patient_id, days_ago=0)
    other = client.post("/api/v1/patients", json=patient_payload(medications=["oxycodone"]),
                        headers=auth_headers).json()  # fmt: skip
    body = plan_body(supersedes_plan_id=plan["id"])
    response = client.post(f"/api/v1/patients/{other['id']}/plans", json=body, headers=auth_headers)
    assert response.status_code == 422


def test_review_outcomes_and_no_second_review_of_a_version(
    client: TestClient, auth_headers: dict[str, str], patient_id: int, db: Session
) -> None:
    plan = _titration(client, auth_headers, patient_id, days_ago=0)
    url = f"/api/v1/plans/{plan['id']}/reviews"
    # Nobody reviews a version they created (409 self_review): a second client reviews.
    reviewer = {"Authorization": f"Bearer {make_token(db, 'plans:review', name='pharmacy_ehr')}"}
    headers = reviewer | {"If-Match": '"1"'}
    query = {"acknowledged": ["opioid"], "outcome": "query"}
    assert client.post(url, json=query, headers=headers).status_code == 422  # says why
    made = client.post(url, json=query | {"note": "Opioid dose?"}, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["outcome"] == "query"
    again = client.post(url, json={"acknowledged": ["opioid"]}, headers=headers)
    assert again.status_code == 409
    assert again.json().get("code") != "self_review"  # refused as a second review
    bad = {"acknowledged": ["opioid"], "outcome": "maybe"}
    assert client.post(url, json=bad, headers=headers).status_code == 422


ITB = {
    "plan_type": "itb_titration",
    "indication": "spinal_cord_injury",
    "target_daily_dose": None,
    "acknowledged": [],
    "intrathecal": {"effective_bolus": {"value": 75, "unit": "mcg"}, "effect_duration_hours": 6},
}


def _itb_plan(client: TestClient, headers: dict[str, str], patient_id: int) -> dict[str, Any]:
    body = plan_body(**ITB, start_date=TODAY.isoformat())
    response = client.post(f"/api/v1/patients/{patient_id}/plans", json=body, headers=headers)
    if response.status_code == 422:  # acknowledge what this patient's ITB plan raises
        codes = response.json()["detail"].split(": ")[-1].rstrip(".").split(", ")
        body["acknowledged"] = codes
        response = client.post(f"/api/v1/patients/{patient_id}/plans", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_recorded_refill_spends_the_rising_titration_day_by_day(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    plan = _itb_plan(client, auth_headers, patient_id)
    body = {"filled_on": TODAY.isoformat(), "reservoir_ml": 20, "alarm_volume_ml": 2,
            "concentration_mcg_per_ml": 500, "max_refill_interval_days": 180}  # fmt: skip
    url = f"/api/v1/plans/{plan['id']}/refills"
    made = client.post(url, json=body, headers=auth_headers)
    assert made.status_code == 201, made.text
    refill = made.json()
    # Independent arithmetic: 9000 mcg spent at each step's daily dose, the last one held.
    remaining, days = Decimal(9000), Decimal(0)
    steps = [(Decimal(str(s["daily_dose"]["value"])), s["end_day"] - s["start_day"] + 1)
             for s in plan["steps"]]  # fmt: skip
    for dose, length in steps[:-1]:
        if remaining < dose * length:
            break
        remaining, days = remaining - dose * length, days + length
    else:
        dose = steps[-1][0]
    whole = int(days + remaining // dose)
    first_day_only = int(Decimal(9000) // steps[0][0])
    assert refill["alarm_date"] == (TODAY + timedelta(days=whole)).isoformat()
    assert whole < first_day_only  # a rising dose empties the pump sooner
    assert refill["daily_dose"] == {"value": steps[0][0], "unit": "mcg"}
    assert refill["refill_window"]["end"] <= refill["refill_due_date"]
    later = body | {"filled_on": (TODAY + timedelta(days=30)).isoformat()}
    assert client.post(url, json=later, headers=auth_headers).status_code == 201
    listed = client.get(url, headers=auth_headers).json()
    assert [r["filled_on"] for r in listed] == [later["filled_on"], body["filled_on"]]
    missing = {k: v for k, v in body.items() if k != "max_refill_interval_days"}
    assert client.post(url, json=missing, headers=auth_headers).status_code == 422


def test_refills_belong_to_intrathecal_titrations_only(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    plan = _titration(client, auth_headers, patient_id, days_ago=0)
    body = {"filled_on": TODAY.isoformat(), "reservoir_ml": 20, "alarm_volume_ml": 2,
            "concentration_mcg_per_ml": 500, "max_refill_interval_days": 180}  # fmt: skip
    assert client.post(f"/api/v1/plans/{plan['id']}/refills", json=body,
                       headers=auth_headers).status_code == 409  # fmt: skip


def test_the_worklist_shows_what_is_due_by_date(
    client: TestClient, auth_headers: dict[str, str], patient_id: int
) -> None:
    oral = _titration(client, auth_headers, patient_id, days_ago=40)  # review in 2 days
    itb = _itb_plan(client, auth_headers, patient_id)
    # Filled 50 days before the plan starts: 60 days at its first 150 mcg/day (alarm in 10).
    refill = {"filled_on": (TODAY - timedelta(days=50)).isoformat(), "reservoir_ml": 20,
              "alarm_volume_ml": 2, "concentration_mcg_per_ml": 500,
              "max_refill_interval_days": 180}  # fmt: skip
    client.post(f"/api/v1/plans/{itb['id']}/refills", json=refill, headers=auth_headers)
    client.post(f"/api/v1/plans/{itb['id']}/hold", json={"reason": "in hospital"},
                headers=auth_headers)  # fmt: skip
    items = client.get("/api/v1/worklist?within_days=7", headers=auth_headers).json()
    mine = [i for i in items if i["patient_id"] == patient_id]
    kinds = {(i["kind"], i["plan_id"]) for i in mine}
    assert ("review_due", oral["id"]) in kinds
    assert ("awaiting_review", oral["id"]) in kinds
    assert ("refill_due", itb["id"]) in kinds
    assert ("on_hold", itb["id"]) in kinds
    review = next(i for i in mine if i["kind"] == "review_due")
    assert review["due_date"] == (TODAY + timedelta(days=2)).isoformat()
    refill_item = next(i for i in mine if i["kind"] == "refill_due")
    assert "Pump refill due" in refill_item["text"]
    assert " to " in refill_item["text"]  # the window, not the alarm date alone
    dates = [i["due_date"] for i in items]
    assert dates == sorted(dates)
    only = client.get("/api/v1/worklist?kind=on_hold&within_days=0", headers=auth_headers).json()
    assert {i["kind"] for i in only} == {"on_hold"}
    assert "refill_due" not in {i["kind"] for i in client.get(
        "/api/v1/worklist?within_days=1", headers=auth_headers).json()}  # fmt: skip
    assert client.get("/api/v1/worklist?within_days=-1", headers=auth_headers).status_code == 422
