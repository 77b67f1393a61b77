""" "Import from EHR" on the patient pages, against the real FHIR server."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from fastapi.testclient import TestClient

from tests.ehr.conftest import FhirSeeder
from tests.web.helpers import hidden_csrf, log_in


def _login(client: TestClient, username: str = "paula.prescriber") -> str:
    assert log_in(client, username).status_code == 303
    return hidden_csrf(client.get("/patients").text)


def test_a_prescriber_imports_by_mrn_and_refreshes_from_the_patient_page(
    client: TestClient, fhir: FhirSeeder
) -> None:
    mrn = f"W{uuid.uuid4().hex[:8].upper()}"
    pid = fhir.patient(mrn, given="Grace", family="Hopper")["id"]
    fhir.observation(pid, "2160-0", 1.1, "mg/dL", (date.today() - timedelta(days=120)).isoformat())
    fhir.medication(pid, "Gabapentin 300 mg")
    csrf = _login(client)
    assert "Import from EHR" in client.get("/patients").text

    page = client.post("/patients/ehr-import", data={"csrf_token": csrf, "ehr": "ward", "mrn": mrn})

    assert page.status_code == 200, page.text
    assert "Created Hopper, Grace" in page.text
    assert "120 days old" in page.text
    assert "Gabapentin 300 mg" in page.text
    patient_id = re.search(r'href="[^"]*/patients/(\d+)"', page.text)
    assert patient_id is not None
    detail = client.get(f"/patients/{patient_id.group(1)}")
    assert "Import from EHR" in detail.text
    fhir.observation(pid, "29463-7", 61, "kg", date.today().isoformat())

    again = client.post(
        "/patients/ehr-import",
        data={"csrf_token": hidden_csrf(detail.text), "ehr": "ward", "mrn": mrn},
    )

    assert "Updated Hopper, Grace" in again.text
    assert "61 kg" in client.get(f"/patients/{patient_id.group(1)}").text


def test_a_patient_the_ehr_does_not_have_is_shown_not_imported(client: TestClient) -> None:
    csrf = _login(client)
    page = client.post(
        "/patients/ehr-import", data={"csrf_token": csrf, "ehr": "ward", "mrn": "NONE1"}
    )
    assert page.status_code == 404
    assert "Nothing was imported for MRN NONE1" in page.text
    empty = client.post(
        "/patients/ehr-import", data={"csrf_token": csrf, "ehr": "ward", "mrn": " "}
    )
    assert empty.status_code == 422


def test_a_viewer_gets_no_button_and_is_refused(client: TestClient, fhir: FhirSeeder) -> None:
    csrf = _login(client, "vera.viewer")
    assert "Import from EHR" not in client.get("/patients").text
    page = client.post(
        "/patients/ehr-import", data={"csrf_token": csrf, "ehr": "ward", "mrn": "X1"}
    )
    assert page.status_code == 403
