"""POST /api/v1/patients/import against a real FHIR server (Medplum, seeded per test)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord
from app.db.repositories.ehr_values import list_values
from tests.ehr.conftest import FhirSeeder

URL = "/api/v1/patients/import"


def _mrn() -> str:
    return f"E{uuid.uuid4().hex[:10].upper()}"


def _day(days_ago: int) -> str:
    return (date.today() - timedelta(days=days_ago)).isoformat()


def _import(client: TestClient, headers: dict[str, str], mrn: str) -> Any:
    return client.post(URL, json={"ehr": "ward", "identifier": {"value": mrn}}, headers=headers)


def test_a_new_patient_is_created_with_each_value_its_source_and_date(
    client: TestClient, fhir: FhirSeeder, auth_headers_factory: Any, db: Session
) -> None:
    mrn = _mrn()
    patient = fhir.patient(mrn, given="Ada", family="Lovelace", birth_date="1958-03-14")
    pid = patient["id"]
    fhir.observation(pid, "29463-7", 70, "kg", _day(40))
    newest_weight = fhir.observation(pid, "29463-7", 68.4, "kg", _day(3))
    # Newer, but not final: never used.
    fhir.observation(pid, "29463-7", 99, "kg", _day(1), status="preliminary")
    fhir.observation(pid, "8302-2", 165.5, "cm", _day(200))
    creatinine = fhir.observation(pid, "14682-9", 88, "umol/L", _day(10))
    fhir.observation(pid, "2160-0", 1.4, "mg/dL", _day(30))
    fhir.medication(pid, "Oxycodone 10 mg twice daily")
    fhir.medication(pid, "Zolpidem 10 mg", kind="MedicationStatement")
    fhir.medication(pid, "Frobnicatol 5 mg")
    fhir.medication(pid, "Diazepam 5 mg", status="stopped")

    response = _import(client, auth_headers_factory("patients:write"), mrn)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["created"] is True
    assert body["source"].endswith(f"/Patient/{pid}")
    read = body["patient"]
    assert (read["mrn"], read["given_name"], read["family_name"]) == (mrn, "Ada", "Lovelace")
    assert read["birth_date"] == "1958-03-14"
    assert read["sex"] == "female"
    assert read["weight_kg"] == 68.4
    assert read["height_cm"] == 165.5
    assert read["serum_creatinine"] == {"value": 88, "unit": "umol/L", "measured_on": _day(10)}
    assert sorted(read["medications"]) == [
        "Frobnicatol 5 mg",
        "Oxycodone 10 mg twice daily",
        "Zolpidem 10 mg",
    ]
    recognised = {m["name"]: m["recognised"] for m in body["medications"]}
    assert recognised == {
        "Oxycodone 10 mg twice daily": True,
        "Zolpidem 10 mg": True,
        "Frobnicatol 5 mg": False,
    }
    assert body["findings"] == []
    assert response.headers["Location"].endswith(f"/api/v1/patients/{read['id']}")

    rows = {row.field: row for row in list_values(db, read["id"])}
    assert rows["weight_kg"].source.endswith(f"/Observation/{newest_weight['id']}")
    assert rows["weight_kg"].effective_on == date.today() - timedelta(days=3)
    assert (rows["weight_kg"].value, rows["weight_kg"].unit) == ("68.4", "kg")
    assert rows["serum_creatinine"].source.endswith(f"/Observation/{creatinine['id']}")
    assert rows["height_cm"].effective_on == date.today() - timedelta(days=200)
    audit = db.scalars(
        select(AuditEventRecord).where(
            AuditEventRecord.action == "patient.import",
            AuditEventRecord.patient_id == read["id"],
        )
    ).one()
    assert audit.detail is not None
    assert audit.detail["created"] is True
    assert audit.detail["unrecognised_medications"] == 1


def test_a_second_import_updates_the_patient_and_keeps_what_the_ehr_does_not_give(
    client: TestClient, fhir: FhirSeeder, auth_headers_factory: Any
) -> None:
    headers = auth_headers_factory("patients:write", "patients:read")
    mrn = _mrn()
    pid = fhir.patient(mrn)["id"]
    fhir.observation(pid, "29463-7", 80, "kg", _day(5))
    first = _import(client, headers, mrn).json()["patient"]
    patch = client.patch(
        f"/api/v1/patients/{first['id']}",
        json={"dialysis": True},
        headers={**headers, "If-Match": f'"{first["version"]}"'},
    )
    assert patch.status_code == 200
    fhir.observation(pid, "29463-7", 78.25, "kg", _day(0))

    second = _import(client, headers, mrn)

    assert second.status_code == 200
    body = second.json()
    assert body["created"] is False
    assert body["patient"]["id"] == first["id"]
    assert body["patient"]["weight_kg"] == 78.25
    assert body["patient"]["dialysis"] is True
    assert body["patient"]["version"] > patch.json()["version"]


def test_a_creatinine_older_than_the_protocol_window_is_a_finding(
    client: TestClient, fhir: FhirSeeder, auth_headers_factory: Any
) -> None:
    mrn = _mrn()
    pid = fhir.patient(mrn)["id"]
    fhir.observation(pid, "2160-0", 0.9, "mg/dL", _day(91))

    body = _import(client, auth_headers_factory("patients:write"), mrn).json()

    assert [(f["code"], f["field"]) for f in body["findings"]] == [
        ("stale_lab", "serum_creatinine")
    ]
    assert "91 days" in body["findings"][0]["message"]
    assert "KDIGO" in body["findings"][0]["source"]
    # The value is still imported with its date, so the planner shows how old it is.
    assert body["patient"]["serum_creatinine"]["measured_on"] == _day(91)


def test_a_value_in_another_unit_is_not_converted_but_reported(
    client: TestClient, fhir: FhirSeeder, auth_headers_factory: Any
) -> None:
    mrn = _mrn()
    pid = fhir.patient(mrn)["id"]
    fhir.observation(pid, "29463-7", 154, "[lb_av]", _day(1))
    fhir.observation(pid, "2160-0", 0.9, "mg/dL", _day(90))

    body = _import(client, auth_headers_factory("patients:write"), mrn).json()

    assert body["patient"]["weight_kg"] is None
    assert [(f["code"], f["field"]) for f in body["findings"]] == [
        ("value_not_imported", "weight_kg")
    ]


def test_a_medication_without_a_name_is_kept_as_unrecognised(
    client: TestClient, fhir: FhirSeeder, auth_headers_factory: Any
) -> None:
    mrn = _mrn()
    pid = fhir.patient(mrn)["id"]
    request = fhir.medication(pid, None)

    body = _import(client, auth_headers_factory("patients:write"), mrn).json()

    assert body["medications"] == [
        {
            "name": f"unnamed medication (MedicationRequest/{request['id']})",
            "recognised": False,
            "source": body["medications"][0]["source"],
        }
    ]


def test_import_by_fhir_id(client: TestClient, fhir: FhirSeeder, auth_headers_factory: Any) -> None:
    mrn = _mrn()
    pid = fhir.patient(mrn, gender="male")["id"]
    response = client.post(
        URL, json={"ehr": "ward", "fhir_patient_id": pid}, headers=auth_headers_factory()
    )
    assert response.status_code == 201
    assert response.json()["patient"]["sex"] == "male"


def test_refusals(client: TestClient, fhir: FhirSeeder, auth_headers_factory: Any) -> None:
    writer = auth_headers_factory("patients:write")
    assert _import(client, writer, "NOSUCHMRN").status_code == 404
    unknown_ehr = client.post(
        URL, json={"ehr": "elsewhere", "identifier": {"value": "X"}}, headers=writer
    )
    assert unknown_ehr.status_code == 422
    both = client.post(
        URL,
        json={"ehr": "ward", "fhir_patient_id": "a", "identifier": {"value": "X"}},
        headers=writer,
    )
    assert both.status_code == 422
    assert both.headers["content-type"] == "application/problem+json"
    assert _import(client, auth_headers_factory("patients:read"), "X").status_code == 403
    assert client.post(URL, json={"ehr": "ward", "identifier": {"value": "X"}}).status_code == 401
    mrn = _mrn()
    fhir.patient(mrn, gender="unknown")
    no_sex = _import(client, writer, mrn)
    assert no_sex.status_code == 422
    assert any(e["loc"] == ["body", "sex"] for e in no_sex.json()["errors"])


def test_an_ehr_that_does_not_answer_is_a_502(
    client: TestClient, auth_headers_factory: Any, app: Any, ward: Any
) -> None:
    dead = ward.model_copy(update={"fhir_base": "http://127.0.0.1:9/fhir"})
    app.state.settings = app.state.settings.model_copy(update={"ehrs": [dead]})
    response = _import(client, auth_headers_factory("patients:write"), "X")
    assert response.status_code == 502
    assert response.json()["type"] == "/problems/ehr-unavailable"
