"""What an integrator writes against the client that openapi-python-client generated from
/openapi.json (package `titrate_client`): create a patient, preview a plan, store it with its
major findings acknowledged, revise it with If-Match. Type-checked with mypy --strict before
it runs. Usage: python openapi_roundtrip.py BASE_URL TOKEN; prints a JSON summary."""

from __future__ import annotations

import datetime
import json
import sys

from titrate_client import AuthenticatedClient
from titrate_client.api.patients import create_patient
from titrate_client.api.plans import create_plan, preview_plan, revise_plan, show_plan
from titrate_client.models import (
    DoseIn,
    DoseUnit,
    Indication,
    PatientCreate,
    PatientCreateSex,
    PatientRead,
    PlanCreate,
    PlanOut,
    PlanPreviewRequest,
    PlanRevision,
    PlanType,
    PreviewPatient,
    PreviewPatientSex,
    Problem,
    SerumCreatinine,
    SerumCreatinineUnit,
    StoredPlanOut,
)


def main(base_url: str, token: str) -> dict[str, object]:
    client = AuthenticatedClient(base_url=base_url, token=token)
    start = datetime.date(2026, 12, 1)
    birth = datetime.date(1981, 5, 2)
    creatinine = SerumCreatinine(value=0.9, unit=SerumCreatinineUnit.MGDL)
    made = create_patient.sync_detailed(
        client=client,
        body=PatientCreate(
            mrn="GEN-CLIENT-1", given_name="Testa", family_name="Generated",
            birth_date=birth, sex=PatientCreateSex.MALE, weight_kg=80, height_cm=180,
            serum_creatinine=creatinine,
        ),
    )  # fmt: skip
    patient = made.parsed
    assert isinstance(patient, PatientRead), made.content
    location = made.headers["location"]
    preview = preview_plan.sync(
        client=client,
        body=PlanPreviewRequest(
            plan_type=PlanType.ORAL_TITRATION, indication=Indication.MULTIPLE_SCLEROSIS,
            start_date=start, target_daily_dose=DoseIn(value=60, unit=DoseUnit.MG),
            patient=PreviewPatient(
                birth_date=birth, sex=PreviewPatientSex.MALE, weight_kg=80, height_cm=180,
                serum_creatinine=creatinine,
            ),
        ),
    )  # fmt: skip
    assert isinstance(preview, PlanOut), preview
    majors = [f.code for f in preview.findings if f.severity.value == "major"]
    stored = create_plan.sync(
        patient.id,
        client=client,
        body=PlanCreate(
            plan_type=PlanType.ORAL_TITRATION, indication=Indication.MULTIPLE_SCLEROSIS,
            start_date=start, target_daily_dose=DoseIn(value=60, unit=DoseUnit.MG),
            acknowledged=majors,
        ),
    )  # fmt: skip
    assert isinstance(stored, StoredPlanOut), stored
    current = show_plan.sync_detailed(stored.id, client=client)
    etag = current.headers["etag"]
    stale = revise_plan.sync(
        stored.id,
        client=client,
        body=PlanRevision(
            plan_type=PlanType.ORAL_TITRATION, indication=Indication.MULTIPLE_SCLEROSIS,
            start_date=start, target_daily_dose=DoseIn(value=45, unit=DoseUnit.MG),
            reason="drowsy at 45 mg/day",
        ),
        if_match='"99"',
    )  # fmt: skip
    assert isinstance(stale, Problem), stale
    revised = revise_plan.sync(
        stored.id,
        client=client,
        body=PlanRevision(
            plan_type=PlanType.ORAL_TITRATION, indication=Indication.MULTIPLE_SCLEROSIS,
            start_date=start, target_daily_dose=DoseIn(value=45, unit=DoseUnit.MG),
            reason="drowsy at 45 mg/day",
        ),
        if_match=etag,
    )  # fmt: skip
    assert isinstance(revised, StoredPlanOut), revised
    return {
        "location": location,
        "preview_steps": len(preview.steps),
        "first_dose": preview.steps[0].daily_dose.value,
        "stored_version": stored.version,
        "stale_status": stale.status,
        "revised_version": revised.version,
        "revised_last_daily": revised.steps[-1].daily_dose.value,
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(sys.argv[1], sys.argv[2])) + "\n")
