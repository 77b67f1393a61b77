"""Made-up plans for the clinician-summary tests, stored in memory exactly as the service
stores them (canonical JSON of the engine's request and result), without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from app.db.models import PatientRecord, PlanRecord, PlanVersionRecord
from app.domain import titration
from app.domain.titration import (
    Dose,
    DoseUnit,
    Formulation,
    Indication,
    IntrathecalInput,
    Override,
    Patient,
    PlanRequest,
    PlanType,
    TaperReason,
    load_protocols,
)
from app.domain.titration.model import CreatinineUnit, SerumCreatinine, Sex
from app.services.plan_codec import canonical_json, content_sha256

START = date(2031, 3, 3)
SAVED_AT = datetime(2031, 3, 1, 9, 30, tzinfo=UTC)
EPILEPSY_REASON = "Seizure-free for 10 years; the neurologist agrees."

# Adult (CLINICAL_RULES SC-09 with an opioid): epilepsy blocks until overridden, the opioid is
# a major finding to acknowledge.
ADULT = Patient(
    sex=Sex.FEMALE, birth_date=date(1990, 1, 1), weight_kg=Decimal("65"),
    height_cm=Decimal("168"),
    serum_creatinine=SerumCreatinine(Decimal("0.8"), CreatinineUnit.MG_DL),
    conditions=("epilepsy",), medications=("oxycodone",),
)  # fmt: skip
ADULT_REQUEST = PlanRequest(
    plan_type=PlanType.ORAL_TITRATION, start_date=START, indication=Indication.MULTIPLE_SCLEROSIS,
    patient=ADULT, target_daily_dose=Dose(Decimal(30), DoseUnit.MG),
    overrides=(Override("epilepsy", EPILEPSY_REASON),),
)  # fmt: skip
# Older adult with moderate renal impairment after a stroke (SC-04): CrCl 40.1 mL/min.
OLDER_ADULT = Patient(
    sex=Sex.FEMALE, birth_date=date(1959, 1, 1), weight_kg=Decimal("55"),
    height_cm=Decimal("160"),
    serum_creatinine=SerumCreatinine(Decimal("1.1"), CreatinineUnit.MG_DL),
    medications=("amlodipine",),
)  # fmt: skip
OLDER_ADULT_REQUEST = PlanRequest(
    plan_type=PlanType.ORAL_TITRATION, start_date=START, indication=Indication.STROKE,
    patient=OLDER_ADULT,
)  # fmt: skip
# Obesity changes the renal band (SC-08): the adjusted body weight is the basis.
OBESE_REQUEST = PlanRequest(
    plan_type=PlanType.ORAL_TITRATION, start_date=START, indication=Indication.MULTIPLE_SCLEROSIS,
    patient=Patient(
        sex=Sex.FEMALE, birth_date=date(1981, 1, 1), weight_kg=Decimal("120"),
        height_cm=Decimal("160"),
        serum_creatinine=SerumCreatinine(Decimal("1.0"), CreatinineUnit.MG_DL),
    ),
)  # fmt: skip
# Intrathecal titration after implant for a high spinal cord injury (SC-21).
ITB_REQUEST = PlanRequest(
    plan_type=PlanType.ITB_TITRATION, start_date=START, indication=Indication.SPINAL_CORD_INJURY,
    patient=Patient(
        sex=Sex.MALE, birth_date=date(1997, 1, 1), weight_kg=Decimal("75"),
        height_cm=Decimal("180"),
        serum_creatinine=SerumCreatinine(Decimal("0.9"), CreatinineUnit.MG_DL),
        spinal_injury_level="T4",
    ),
    intrathecal=IntrathecalInput(
        effective_bolus=Dose(Decimal(75), DoseUnit.MCG), effect_duration_hours=Decimal(6)
    ),
)  # fmt: skip
# A toddler on oral solution (SC-17: 18 months, 11 kg), with an entered creatinine clearance.
CHILD_REQUEST = PlanRequest(
    plan_type=PlanType.ORAL_TITRATION, start_date=START, indication=Indication.CEREBRAL_PALSY,
    patient=Patient(
        sex=Sex.MALE, birth_date=date(2029, 9, 3), weight_kg=Decimal("11"),
        height_cm=Decimal("80"), creatinine_clearance_ml_min=Decimal("95"),
    ),
    formulation=Formulation.ORAL_SOLUTION,
)  # fmt: skip

# Oral taper from 60 mg/day (R-STOP-4: 25 % steps, 5 days per level).
TAPER_REQUEST = PlanRequest(
    plan_type=PlanType.ORAL_TAPER, start_date=START, indication=Indication.MULTIPLE_SCLEROSIS,
    patient=replace(ADULT, conditions=(), medications=()),
    current_daily_dose=Dose(Decimal(60), DoseUnit.MG), taper_reason=TaperReason.GENERAL,
)  # fmt: skip


def stored(
    request: PlanRequest,
    *,
    acknowledged: tuple[str, ...] = (),
    number: int = 1,
    current: int = 1,
    reason: str | None = None,
    given_name: str = "Testa",
    family_name: str = "Fictional",
) -> tuple[PlanRecord, PlanVersionRecord, PatientRecord]:
    """A plan, one of its versions and its patient, as the service would have saved them."""
    plan = titration.build_plan(request, load_protocols())
    input_json, plan_json = canonical_json(request), canonical_json(plan)
    record = PlanRecord(
        id=7, patient_id=3, plan_type=plan.plan_type.value, unit=plan.unit.value,
        state="active", current_version=current, created_at=SAVED_AT,
        created_by="paula.prescriber", updated_at=SAVED_AT,
    )  # fmt: skip
    version = PlanVersionRecord(
        id=11, plan_id=7, number=number, action="create" if number == 1 else "revise",
        reason=reason, status=plan.status.value, input_json=input_json, plan_json=plan_json,
        acknowledged=sorted(acknowledged),
        content_sha256=content_sha256(input_json=input_json, plan_json=plan_json),
        engine_version=plan.engine_version, created_at=SAVED_AT, created_by="paula.prescriber",
        created_by_role="prescriber",
    )  # fmt: skip
    patient = PatientRecord(
        id=3, mrn="SUM-0001", given_name=given_name, family_name=family_name,
        birth_date=request.patient.birth_date or date(1990, 1, 1), sex=request.patient.sex.value,
    )  # fmt: skip
    return record, version, patient


def with_patient(request: PlanRequest, **changes: object) -> PlanRequest:
    return replace(request, patient=replace(request.patient, **changes))
