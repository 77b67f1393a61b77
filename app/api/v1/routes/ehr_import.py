"""`POST /api/v1/patients/import`: a system client fills a patient from the EHR (§5.4)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request, Response, status

from app.api.v1.deps import PatientsWriter, ProtocolsDep, SessionDep, etag
from app.api.v1.ehr_schemas import (
    ImportedMedicationRead,
    ImportFindingRead,
    PatientImport,
    PatientImportResult,
)
from app.api.v1.patient_mapping import to_patient_read
from app.api.v1.problems import problem_responses
from app.domain.patients import FieldProblem
from app.ehr.mapping import load_import_rules
from app.services import ehr_import
from app.services.errors import InvalidInput

router = APIRouter(prefix="/patients", tags=["patients"])


@router.post(
    "/import",
    name="api:import_patient",
    responses=problem_responses(401, 403, 404, 409, 422, 502),
)
def import_patient(
    body: PatientImport,
    request: Request,
    response: Response,
    session: SessionDep,
    client: PatientsWriter,
    protocols: ProtocolsDep,
) -> PatientImportResult:
    """Read the patient, newest weight, height and serum creatinine and the active medications
    from a configured EHR's FHIR server; create the patient (201) or update it by MRN (200)."""
    connection = request.app.state.settings.ehr(body.ehr)
    if connection is None:
        raise InvalidInput((FieldProblem("ehr", "No EHR of this id is configured."),))
    selector = ehr_import.PatientSelector(
        fhir_id=body.fhir_patient_id,
        identifier_system=body.identifier.system if body.identifier else None,
        identifier_value=body.identifier.value if body.identifier else None,
    )
    outcome = ehr_import.import_patient(
        session,
        actor=client,
        connection=connection,
        selector=selector,
        medications=protocols.medications,
        rules=load_import_rules(),
        today=date.today(),
    )
    if outcome.created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = str(
            request.url_for("api:show_patient", patient_id=outcome.record.id)
        )
    response.headers["ETag"] = etag(outcome.record.version)
    return PatientImportResult(
        created=outcome.created,
        source=outcome.source,
        patient=to_patient_read(outcome.record),
        findings=[ImportFindingRead.model_validate(f) for f in outcome.findings],
        medications=[ImportedMedicationRead.model_validate(m) for m in outcome.medications],
    )
