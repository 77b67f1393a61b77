"""The FHIR R4 export (API.md §4): every Bundle validated with the fhir.resources R4B models."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from itertools import pairwise
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy.orm import Session

from tests.exports.conftest import StoredPlan, exact, store_plan

UCUM = "http://unitsofmeasure.org"
ROUTES = {"oral": "26643006", "intrathecal": "72607000"}
WHEN = {"morning": "MORN", "midday": "NOON", "evening": "EVE", "night": "HS"}


def fetch_bundle(
    client: TestClient, headers: dict[str, str], plan_id: int, query: str = ""
) -> tuple[dict[str, Any], str]:
    response = client.get(f"/api/v1/plans/{plan_id}/fhir{query}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    Bundle.model_validate(response.json())  # raises on anything R4B does not allow
    return json.loads(response.text, parse_float=Decimal), response.text


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def schedule_of(bundle: dict[str, Any]) -> dict[str, Any]:
    """API.md §4: the Bundle holds *the* MedicationRequest, so there is exactly one."""
    [schedule] = resources(bundle, "MedicationRequest")
    return schedule


def test_every_kind_of_plan_exports_a_valid_bundle_whose_doses_are_the_plans(
    client: TestClient, api_headers: dict[str, str], stored: StoredPlan
) -> None:
    bundle, _ = fetch_bundle(client, api_headers, stored.id)
    assert bundle["type"] == "collection"
    schedule = schedule_of(bundle)
    dosages = schedule["dosageInstruction"]
    # Sequence = step number, never decreasing; a step's concurrent Dosages share it (§5.3).
    sequences = [d["sequence"] for d in dosages]
    assert sorted(set(sequences)) == [s["index"] for s in stored.steps]
    assert all(a <= b for a, b in pairwise(sequences))
    for step in stored.steps:
        mine = [d for d in dosages if d["sequence"] == step["index"]]
        singles = sorted(exact(a["dose"]["value"]) for a in step["administrations"])
        uneven = len(set(singles)) > 1
        assert len(mine) == (len(singles) if uneven else 1)
        times = [t for dosage in mine for t in _times(dosage)]
        assert sorted(times) == sorted(a["time_of_day"] for a in step["administrations"])
        given = []
        for dosage in mine:
            bounds = dosage["timing"]["repeat"]["boundsPeriod"]
            assert (bounds["start"], bounds["end"]) == (step["start_date"], step["end_date"])
            [dose_and_rate] = dosage["doseAndRate"]
            assert "doseRange" not in dose_and_rate
            quantity = dose_and_rate.get("doseQuantity") or dose_and_rate["rateQuantity"]
            assert ("doseQuantity" in dose_and_rate) != ("rateQuantity" in dose_and_rate)
            given += [exact(quantity["value"])] * len(_times(dosage))
            if "maxDosePerPeriod" in dosage:
                daily = dosage["maxDosePerPeriod"]["numerator"]["value"]
                assert exact(daily) == sum(singles) == exact(step["daily_dose"]["value"])
        assert sorted(given) == singles


def _times(dosage: dict[str, Any]) -> list[str]:
    """Dose times of a Dosage, back in the plan's words."""
    codes = dosage["timing"]["repeat"].get("when")
    if codes:
        by_code = {code: time for time, code in WHEN.items()}
        return [by_code[c] for c in codes]
    return ["continuous" if "rateQuantity" in dosage["doseAndRate"][0] else "bolus"]


def _by_step(dosages: list[dict[str, Any]], index: int) -> list[dict[str, Any]]:
    return [d for d in dosages if d["sequence"] == index]


def test_units_and_routes_follow_the_plan_and_never_mix(
    client: TestClient, api_headers: dict[str, str], stored: StoredPlan
) -> None:
    bundle, text = fetch_bundle(client, api_headers, stored.id)
    for dosage in schedule_of(bundle)["dosageInstruction"]:
        dose_and_rate = dosage["doseAndRate"][0]
        quantities = [dose_and_rate.get("doseQuantity"), dose_and_rate.get("rateQuantity")]
        for quantity in filter(None, quantities):
            assert quantity["system"] == UCUM
            expected = ("mcg", "ug") if stored.is_itb else ("mg", "mg")
            if "rateQuantity" in dose_and_rate:
                expected = ("mcg/day", "ug/d")
            assert (quantity["unit"], quantity["code"]) == expected
        assert dosage["route"]["coding"][0]["code"] == ROUTES[stored.plan["route"]]
    if stored.is_itb:
        assert not re.search(r"\bmg\b", text), "an intrathecal export never shows mg"
    else:
        assert not re.search(r"\b(mcg|ug)\b", text), "an oral export never shows mcg"


def test_numbers_are_json_numbers_without_trailing_zeros(
    client: TestClient, api_headers: dict[str, str], stored: StoredPlan
) -> None:
    _, text = fetch_bundle(client, api_headers, stored.id)
    values = re.findall(r'"value": ([^,\s}]+)', text)
    numbers = [v for v in values if not v.startswith('"')]
    assert numbers
    for number in numbers:
        assert re.fullmatch(r"\d+(\.\d*[1-9])?", number), number


def test_the_patient_carries_the_mrn_under_the_configured_system(
    client: TestClient, app: FastAPI, api_headers: dict[str, str], db: Session
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"fhir_mrn_system": "urn:oid:1.2.276.0.76.4.99"}
    )
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    bundle, _ = fetch_bundle(client, api_headers, plan.id)
    [patient] = resources(bundle, "Patient")
    [identifier] = patient["identifier"]
    assert (identifier["system"], identifier["value"]) == (
        "urn:oid:1.2.276.0.76.4.99",
        plan.patient["mrn"],
    )
    assert identifier["type"]["coding"][0]["code"] == "MR"
    assert patient["name"] == [{"family": plan.patient["family_name"], "given": ["Testa"]}]
    assert (patient["birthDate"], patient["gender"]) == ("1981-05-02", "male")
    patient_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is patient)
    assert patient_url.startswith("urn:uuid:")
    for request in resources(bundle, "MedicationRequest"):
        assert request["subject"] == {"reference": patient_url}


def test_the_request_names_version_hash_prescriber_and_state(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    schedule = schedule_of(fetch_bundle(client, api_headers, plan.id)[0])
    assert (schedule["status"], schedule["intent"]) == ("active", "order")
    assert schedule["meta"]["versionId"] == "1"
    assert {"use": "secondary", "system": "https://titrate.invalid/fhir/sid/plan/content-sha256",
            "value": plan.content_sha256} in schedule["identifier"]  # fmt: skip
    assert schedule["requester"] == {"type": "Device", "display": "test_client (API client)"}
    assert schedule["medicationCodeableConcept"] == {
        "coding": [
            {"system": "http://www.whocc.no/atc", "code": "M03BX01", "display": "baclofen"},
            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1292",
             "display": "baclofen"},
        ],
        "text": "Baclofen",
    }  # fmt: skip
    assert plan.content_sha256 in schedule["note"][0]["text"]
    first = schedule["dosageInstruction"][0]
    assert first["text"] == (
        "Take 1 tablet of 5 mg (5 mg) in the morning, at midday and in the evening, "
        "1 Dec – 3 Dec 2026"
    )
    assert first["timing"]["repeat"] | {"boundsPeriod": None} == {
        "boundsPeriod": None, "frequency": 3, "period": 1, "periodUnit": "d",
        "when": ["MORN", "NOON", "EVE"],
    }  # fmt: skip


def test_a_taper_level_with_uneven_doses_has_one_dosage_per_dose_time_sharing_its_sequence(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "oral_taper")
    level = plan.steps[1]
    assert len({a["dose"]["value"] for a in level["administrations"]}) == 2
    dosages = schedule_of(fetch_bundle(client, api_headers, plan.id)[0])["dosageInstruction"]
    mine = _by_step(dosages, level["index"])
    assert [(d["timing"]["repeat"]["when"], d["doseAndRate"][0]["doseQuantity"]["value"])
            for d in mine] == [(["MORN"], 15), (["NOON"], 10), (["EVE"], 15)]  # fmt: skip
    assert mine[0]["text"].startswith("Take 1½ tablets of 10 mg (15 mg) in the morning")
    assert mine[1]["text"] == "Take 1 tablet of 10 mg (10 mg) at midday, 6 Dec – 10 Dec 2026"
    for dosage in mine:
        assert dosage["timing"]["repeat"]["frequency"] == 1
        assert dosage["timing"]["repeat"]["boundsPeriod"] == {
            "start": level["start_date"], "end": level["end_date"]
        }  # fmt: skip
    # The uniform levels keep §4's single Dosage with the daily total.
    [first] = _by_step(dosages, plan.steps[0]["index"])
    assert first["maxDosePerPeriod"]["denominator"] == {
        "value": 1, "unit": "d", "system": UCUM, "code": "d"
    }  # fmt: skip


def test_the_child_gets_solution_in_mg_with_its_volume_and_an_hs_night_dose(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "child_on_solution")
    bundle, _ = fetch_bundle(client, api_headers, plan.id)
    first = schedule_of(bundle)["dosageInstruction"][0]
    assert first["timing"]["repeat"]["when"] == ["MORN", "NOON", "EVE", "HS"]
    assert first["text"].startswith("Take 1.3 mL of 1 mg/mL oral solution (1.3 mg) in the morning")
    assert first["doseAndRate"][0]["doseQuantity"]["value"] == Decimal("1.3")


def test_each_dispense_line_is_a_supply_request_and_a_single_product_is_dispensed(
    client: TestClient, api_headers: dict[str, str], stored: StoredPlan
) -> None:
    bundle, _ = fetch_bundle(client, api_headers, stored.id)
    patient_url = next(
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    supplies = resources(bundle, "SupplyRequest")
    lines = stored.plan["dispense"]
    assert len(supplies) == len(lines)
    for supply, line in zip(supplies, lines, strict=True):
        assert supply["deliverTo"] == {"reference": patient_url}
        quantity = supply["quantity"]
        assert exact(quantity["value"]) == exact(line["quantity"])
        if line["form"] == "tablet":
            strength = line["tablet_strength"]
            assert (quantity["code"], quantity["unit"]) == ("TAB", "tablet")
            expected = f"Baclofen {exact(strength['value']):f} {strength['unit']} tablet"
            assert supply["itemCodeableConcept"]["text"] == expected
        else:
            assert (quantity["code"], quantity["system"]) == ("mL", UCUM)
    dispense = schedule_of(bundle).get("dispenseRequest", {})
    if len(lines) == 1:
        assert dispense["quantity"] == supplies[0]["quantity"]
    else:
        assert "quantity" not in dispense, "one quantity cannot count several products"


def test_the_pump_steps_carry_only_a_daily_rate_in_ug_per_day(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "itb_titration")
    dosages = schedule_of(fetch_bundle(client, api_headers, plan.id)[0])["dosageInstruction"]
    assert [d["doseAndRate"][0]["rateQuantity"]["value"] for d in dosages][:2] == [150, 165]
    assert {d["doseAndRate"][0]["rateQuantity"]["code"] for d in dosages} == {"ug/d"}
    for dosage in dosages:  # not a daily bolus: no dose per administration, no frequency
        assert "doseQuantity" not in dosage["doseAndRate"][0]
        assert set(dosage["timing"]["repeat"]) == {"boundsPeriod"}
    assert dosages[0]["text"] == (
        "Give 150 mcg/day by continuous intrathecal infusion (implanted pump), 1 Dec 2026"
    )


def test_a_superseded_version_is_stopped_and_the_current_one_active(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    revision = {
        "plan_type": "oral_titration", "indication": "multiple_sclerosis",
        "start_date": "2026-12-01", "target_daily_dose": {"value": 45, "unit": "mg"},
        "reason": "drowsy at 45 mg/day",
    }  # fmt: skip
    revised = client.post(
        f"/api/v1/plans/{plan.id}/versions",
        json=revision,
        headers={**api_headers, "If-Match": '"1"'},
    )
    assert revised.status_code == 201, revised.text
    old = schedule_of(fetch_bundle(client, api_headers, plan.id, "?version=1")[0])
    new = schedule_of(fetch_bundle(client, api_headers, plan.id)[0])
    assert (old["status"], old["meta"]["versionId"]) == ("stopped", "1")
    assert old["statusReason"] == {"text": "Superseded by version 2 of this plan."}
    assert (new["status"], new["meta"]["versionId"]) == ("active", "2")
    assert len(new["dosageInstruction"]) == len(old["dosageInstruction"]) - 1


def test_a_held_plan_is_on_hold_with_its_reason(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    held = client.post(
        f"/api/v1/plans/{plan.id}/hold",
        json={"reason": "admitted to hospital"},
        headers=api_headers,
    )
    assert held.status_code == 200, held.text
    schedule = schedule_of(fetch_bundle(client, api_headers, plan.id)[0])
    assert schedule["status"] == "on-hold"
    assert schedule["statusReason"] == {"text": "admitted to hospital"}


def _revise(client: TestClient, api_headers: dict[str, str], plan_id: int) -> None:
    revision = {
        "plan_type": "oral_titration", "indication": "multiple_sclerosis",
        "start_date": "2026-12-01", "target_daily_dose": {"value": 45, "unit": "mg"},
        "reason": "drowsy at 45 mg/day",
    }  # fmt: skip
    revised = client.post(
        f"/api/v1/plans/{plan_id}/versions",
        json=revision,
        headers={**api_headers, "If-Match": '"1"'},
    )
    assert revised.status_code == 201, revised.text


def test_a_revision_names_the_order_it_replaces(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    assert "priorPrescription" not in schedule_of(fetch_bundle(client, api_headers, plan.id)[0])
    _revise(client, api_headers, plan.id)
    new = schedule_of(fetch_bundle(client, api_headers, plan.id)[0])
    assert new["priorPrescription"]["identifier"] == {
        "use": "official", "system": "https://titrate.invalid/fhir/sid/plan/version",
        "value": f"{plan.id}-v1",
    }  # fmt: skip
    old = schedule_of(fetch_bundle(client, api_headers, plan.id, "?version=1")[0])
    assert new["priorPrescription"]["identifier"] in old["identifier"]


def test_supply_requests_and_the_order_name_each_other(
    client: TestClient, api_headers: dict[str, str], stored: StoredPlan
) -> None:
    bundle, _ = fetch_bundle(client, api_headers, stored.id)
    urls = {e["resource"]["resourceType"] + str(i): e["fullUrl"]
            for i, e in enumerate(bundle["entry"])}  # fmt: skip
    schedule_url = next(u for k, u in urls.items() if k.startswith("MedicationRequest"))
    supply_urls = [u for k, u in urls.items() if k.startswith("SupplyRequest")]
    schedule = schedule_of(bundle)
    assert [r["reference"] for r in schedule.get("supportingInformation", [])] == supply_urls
    for supply in resources(bundle, "SupplyRequest"):
        [based_on] = supply["extension"]
        assert based_on["valueReference"] == {"reference": schedule_url}


def test_the_transaction_bundle_creates_conditionally_and_stops_the_replaced_order(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "oral_taper")
    bundle, _ = fetch_bundle(client, api_headers, plan.id, "?bundle=transaction")
    assert bundle["type"] == "transaction"
    requests = [(e["resource"]["resourceType"], e["request"]) for e in bundle["entry"]]
    assert requests[0] == ("Patient", {
        "method": "POST", "url": "Patient",
        "ifNoneExist": f"identifier=https://titrate.invalid/fhir/sid/mrn|{plan.patient['mrn']}",
    })  # fmt: skip
    assert requests[1] == ("MedicationRequest", {
        "method": "POST", "url": "MedicationRequest",
        "ifNoneExist": f"identifier=https://titrate.invalid/fhir/sid/plan/version|{plan.id}-v1",
    })  # fmt: skip
    assert {kind for kind, _ in requests[2:]} == {"SupplyRequest"}
    assert all(r["method"] == "POST" and "ifNoneExist" in r for _, r in requests)

    other = store_plan(client, api_headers, db, "adult_oral_titration")
    _revise(client, api_headers, other.id)
    bundle, _ = fetch_bundle(client, api_headers, other.id, "?bundle=transaction")
    orders = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationRequest"]
    assert [o["resource"]["status"] for o in orders] == ["active", "stopped"]
    assert orders[1]["request"] == {
        "method": "PUT",
        "url": f"MedicationRequest?identifier=https://titrate.invalid/fhir/sid/plan/version|"
        f"{other.id}-v1",
    }
    assert orders[0]["resource"]["priorPrescription"] == {"reference": orders[1]["fullUrl"]}
    assert orders[1]["resource"]["meta"]["versionId"] == "1"


def test_an_unknown_bundle_type_is_a_422(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    response = client.get(f"/api/v1/plans/{plan.id}/fhir?bundle=document", headers=api_headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
