""" "Import from EHR" for clinicians: fill or update a patient from a configured EHR by MRN."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.domain.patients import FieldProblem
from app.ehr.mapping import load_import_rules
from app.services import ehr_import
from app.services.errors import EhrUnavailable, InvalidInput, NotFound
from app.services.permissions import require
from app.web.deps import CurrentClinician, SessionDep
from app.web.templating import render

router = APIRouter(prefix="/patients")


@router.post("/ehr-import", name="patients:ehr_import")
def import_from_ehr(
    request: Request,
    session: SessionDep,
    clinician: CurrentClinician,
    ehr: Annotated[str, Form(max_length=40)] = "",
    mrn: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    require(clinician, "patient.create")
    require(clinician, "patient.update")
    connection = request.app.state.settings.ehr(ehr)
    try:
        if connection is None:
            raise InvalidInput((FieldProblem("ehr", "No EHR of this id is configured."),))
        if not mrn.strip():
            raise InvalidInput((FieldProblem("mrn", "Enter the patient's MRN."),))
        outcome = ehr_import.import_patient(
            session,
            actor=clinician,
            connection=connection,
            selector=ehr_import.PatientSelector(identifier_value=mrn.strip()),
            medications=request.app.state.protocols.medications,
            rules=load_import_rules(),
            today=date.today(),
        )
    except (InvalidInput, NotFound, EhrUnavailable) as exc:
        status = 422 if isinstance(exc, InvalidInput) else 404 if isinstance(exc, NotFound) else 502
        messages = (
            [f"{p.field}: {p.message}" for p in exc.problems]
            if isinstance(exc, InvalidInput)
            else [str(exc)]
        )
        context = {"clinician": clinician, "errors": messages, "mrn": mrn, "ehr": ehr}
        return render(request, "patients/ehr_import.html", context, status_code=status)
    context = {"clinician": clinician, "outcome": outcome, "patient": outcome.record}
    return render(request, "patients/ehr_import.html", context)
