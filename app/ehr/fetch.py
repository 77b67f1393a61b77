"""Read one patient's record from the EHR and map it (no database, no clock)."""

from __future__ import annotations

from app.ehr.fhir_client import EhrError, EhrNotFound, FhirClient, Resource
from app.ehr.mapping import (
    CREATININE_CODES,
    HEIGHT_CODES,
    LOINC,
    WEIGHT_CODES,
    ImportedPatient,
    map_patient,
)

OBSERVATION_CODES = {
    "weight_kg": WEIGHT_CODES,
    "height_cm": HEIGHT_CODES,
    "serum_creatinine": CREATININE_CODES,
}


def find_patient(client: FhirClient, *, system: str, value: str) -> Resource:
    """The one Patient with this identifier; none or several is "not found"."""
    found = client.search("Patient", {"identifier": f"{system}|{value}"})
    if len(found) != 1:
        raise EhrNotFound(f"{len(found)} patients on the FHIR server have this identifier")
    return found[0]


def fetch_patient(client: FhirClient, patient: Resource, *, mrn_system: str) -> ImportedPatient:
    patient_id = patient.get("id")
    if not isinstance(patient_id, str) or patient.get("resourceType") != "Patient":
        raise EhrError("the FHIR server answered a Patient without an id")
    observations = {
        field: [
            (resource, client.reference_url(resource))
            for resource in client.search(
                "Observation",
                {
                    "patient": patient_id,
                    "code": ",".join(f"{LOINC}|{code}" for code in codes),
                    "_sort": "-date",
                },
            )
        ]
        for field, codes in OBSERVATION_CODES.items()
    }
    medications = [
        (resource, client.reference_url(resource))
        for resource_type in ("MedicationRequest", "MedicationStatement")
        for resource in client.search(resource_type, {"patient": patient_id, "status": "active"})
    ]
    return map_patient(
        patient,
        source=client.reference_url(patient),
        mrn_system=mrn_system,
        observations=observations,
        medications=medications,
    )
