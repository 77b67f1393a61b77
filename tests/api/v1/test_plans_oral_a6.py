"""API §5.1 oral additions: current_daily_dose on a titration, taper_min_days, mg_per_kg_day,
doses_per_day_adjusted, dispense counts per strength."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.v1.test_plans import ADULT, preview

CHILD = {**ADULT, "birth_date": None, "age_years": 12, "weight_kg": 33}


def test_a_titration_continues_from_the_current_daily_dose(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = preview(client, auth_headers, current_daily_dose={"value": 25, "unit": "mg"})
    assert response.status_code == 200, response.text
    dailies = [step["daily_dose"]["value"] for step in response.json()["steps"]]
    assert dailies == [25, 40, 55, 60]


def test_a_prescribers_once_daily_80_mg_becomes_four_20_mg_doses_with_a_finding(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = preview(
        client, auth_headers, doses_per_day=1, target_daily_dose={"value": 80, "unit": "mg"}
    )
    body = response.json()
    last = body["steps"][-1]["administrations"]
    assert [a["dose"]["value"] for a in last] == [20, 20, 20, 20]
    assert last[0]["preparation"]["tablet_strength"] == {"value": 20, "unit": "mg"}
    adjusted = next(f for f in body["findings"] if f["code"] == "doses_per_day_adjusted")
    assert adjusted["severity"] == "info"
    dispense = {line["tablet_strength"]["value"]: line["quantity"] for line in body["dispense"]}
    assert all(isinstance(quantity, int) for quantity in dispense.values())
    assert set(dispense) == {5, 10, 20}


def test_childrens_steps_carry_mg_per_kg_day_as_a_number(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = preview(
        client, auth_headers, patient=CHILD, indication="cerebral_palsy", target_daily_dose=None
    )
    assert response.status_code == 200, response.text
    steps = response.json()["steps"]
    assert steps[0]["mg_per_kg_day"] == 0.15
    assert max(a["dose"]["value"] for s in steps for a in s["administrations"]) <= 15
    adult = preview(client, auth_headers).json()["steps"]
    assert all(step["mg_per_kg_day"] is None for step in adult)


def test_taper_min_days_is_7_to_21_and_below_14_blocks_as_short_taper(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    taper = {"plan_type": "oral_taper", "current_daily_dose": {"value": 80, "unit": "mg"}}
    short = preview(client, auth_headers, **taper, taper_min_days=7).json()
    assert short["status"] == "blocked"
    assert short["findings"][0]["code"] == "short_taper"
    for days in (6, 22):
        refused = preview(client, auth_headers, **taper, taper_min_days=days)
        assert refused.status_code == 422
        assert "taper_min_days" in refused.text
    long = preview(client, auth_headers, **taper, taper_min_days=21).json()
    assert long["steps"][-1]["end_day"] == 21


def test_a_taper_with_a_contraindication_is_ready_with_major_findings(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    patient = {**ADULT, "conditions": ["epilepsy", "hypersensitivity"]}
    response = preview(
        client, auth_headers, plan_type="oral_taper", patient=patient,
        current_daily_dose={"value": 30, "unit": "mg"},
    )  # fmt: skip
    body = response.json()
    assert body["status"] == "ready"
    assert [s["daily_dose"]["value"] for s in body["steps"]] == [25, 20, 15, 10, 5]
    severities = {f["code"]: f["severity"] for f in body["findings"]}
    assert severities["epilepsy"] == severities["hypersensitivity"] == "major"
