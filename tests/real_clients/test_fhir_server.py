"""FHIR Bundles posted to a real FHIR server: Medplum's router and in-memory repository
(npm @medplum/fhir-router 5.2.13), each resource first checked by Medplum's R4 validator."""

from __future__ import annotations

from typing import Any

from tests.real_clients.conftest import Live, revise, run_node, store


def test_a_transaction_then_its_revision_leave_exactly_one_active_order(live: Live) -> None:
    with live.client() as client:
        plan_id, patient = store(client, "adult_oral_titration")
        first = client.get(f"/api/v1/plans/{plan_id}/fhir?bundle=transaction").json()
        revise(client, plan_id)
        second = client.get(f"/api/v1/plans/{plan_id}/fhir?bundle=transaction").json()
    # The same file twice, as a retrying integrator would post it: nothing doubles.
    server: dict[str, Any] = run_node("fhir_server.mjs", [first, first, second])
    for posted in server["posted"]:
        assert all(status.startswith(("200", "201")) for status in posted["statuses"]), posted
    assert len(server["patients"]) == 1
    assert [p["identifier"][0]["value"] for p in server["patients"]] == [patient["mrn"]]
    [active] = server["active"]
    assert active["meta"]["versionId"] != "1" or active["identifier"][1]["value"].endswith("v2")
    assert active["identifier"][1]["value"] == f"{plan_id}-v2"
    orders = {o["identifier"][1]["value"]: o for o in server["orders"]}
    assert set(orders) == {f"{plan_id}-v1", f"{plan_id}-v2"}
    assert orders[f"{plan_id}-v1"]["status"] == "stopped"
    prior = active["priorPrescription"]["reference"]
    assert prior == f"MedicationRequest/{orders[f'{plan_id}-v1']['id']}"
    assert active["subject"]["reference"] == f"Patient/{server['patients'][0]['id']}"
    codes = {c["code"] for c in active["medicationCodeableConcept"]["coding"]}
    assert codes == {"M03BX01", "1292"}


def test_every_kind_of_plan_is_accepted_with_its_uneven_and_pump_dosages(live: Live) -> None:
    bundles = []
    with live.client() as client:
        for scenario in ("oral_taper", "itb_titration", "child_on_solution", "itb_screening"):
            plan_id, _ = store(client, scenario)
            bundles.append(client.get(f"/api/v1/plans/{plan_id}/fhir?bundle=transaction").json())
    server: dict[str, Any] = run_node("fhir_server.mjs", bundles)
    assert len(server["active"]) == 4
    sequences = [[d["sequence"] for d in o["dosageInstruction"]] for o in server["active"]]
    assert any(len(s) > len(set(s)) for s in sequences), "the taper's concurrent Dosages"
    pump = next(
        o for o in server["active"] if "rateQuantity" in o["dosageInstruction"][0]["doseAndRate"][0]
    )
    assert {d["doseAndRate"][0]["rateQuantity"]["code"] for d in pump["dosageInstruction"]} == {
        "ug/d"
    }
    for supply in server["supplies"]:  # the links survive the server's renaming of references
        [based_on] = supply["extension"]
        assert based_on["valueReference"]["reference"].startswith("MedicationRequest/")
