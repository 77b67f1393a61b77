"""Between plan schemas and the dosing core's values."""

from __future__ import annotations

import json
from datetime import date

from app.api.v1.plan_schemas import (
    DoseIn,
    IntrathecalIn,
    PlanInput,
    PlanOut,
    PlanPreviewRequest,
    ReviewOut,
    StoredPlanOut,
)
from app.db.models import PlanRecord, PlanReviewRecord, PlanVersionRecord
from app.domain.titration.model import (
    CreatinineUnit,
    IntrathecalInput,
    Override,
    Patient,
    PlanRequest,
    SerumCreatinine,
    Sex,
)
from app.domain.titration.plan import Plan
from app.domain.titration.units import Dose


def preview_request_to_domain(body: PlanPreviewRequest, *, today: date) -> PlanRequest:
    p = body.patient
    creatinine = p.serum_creatinine
    patient = Patient(
        sex=Sex(p.sex or ""),  # presence is checked by PreviewPatient
        birth_date=p.birth_date,
        age_years=p.age_years,
        weight_kg=p.weight_kg,
        height_cm=p.height_cm,
        serum_creatinine=(
            SerumCreatinine(creatinine.value, CreatinineUnit(creatinine.unit))
            if creatinine
            else None
        ),
        creatinine_clearance_ml_min=p.creatinine_clearance_ml_min,
        dialysis=p.dialysis,
        conditions=tuple(p.conditions),
        medications=tuple(p.medications),
        pregnant=p.pregnant,
        breastfeeding=p.breastfeeding,
        spinal_injury_level=p.spinal_injury_level,
        brain_injury_date=p.brain_injury_date,
    )
    return plan_input_to_domain(body, patient=patient, today=today)


def plan_input_to_domain(body: PlanInput, *, patient: Patient, today: date) -> PlanRequest:
    return PlanRequest(
        plan_type=body.plan_type,
        start_date=body.start_date or today,
        indication=body.indication,
        patient=patient,
        setting=body.setting,
        target_daily_dose=_dose(body.target_daily_dose),
        current_daily_dose=_dose(body.current_daily_dose),
        step_interval_days=body.step_interval_days,
        doses_per_day=body.doses_per_day,
        formulation=body.formulation,
        intrathecal=_intrathecal(body.intrathecal),
        overrides=tuple(Override(o.code, o.reason) for o in body.overrides),
        taper_reason=body.taper_reason,
        taper_min_days=body.taper_min_days,
    )


def plan_to_out(plan: Plan) -> PlanOut:
    return PlanOut.model_validate(plan, from_attributes=True)


def _dose(dose: DoseIn | None) -> Dose | None:
    return Dose(dose.value, dose.unit) if dose else None


def _intrathecal(body: IntrathecalIn | None) -> IntrathecalInput | None:
    if body is None:
        return None
    return IntrathecalInput(
        effective_bolus=_dose(body.effective_bolus),
        effect_duration_hours=body.effect_duration_hours,
        step_percent=body.step_percent,
        days=body.days,
        screening_responses=tuple(body.screening_responses),
    )


def stored_plan_out(record: PlanRecord, version: PlanVersionRecord) -> StoredPlanOut:
    content = PlanOut.model_validate(json.loads(version.plan_json))
    return StoredPlanOut(
        **content.model_dump(),
        id=record.id,
        patient_id=record.patient_id,
        state=record.state,
        state_reason=record.state_reason,
        supersedes_plan_id=record.supersedes_plan_id,
        version=version.number,
        superseded=version.number != record.current_version,
        action=version.action,
        reason=version.reason,
        acknowledged=list(version.acknowledged),
        content_sha256=version.content_sha256,
        created_by=version.created_by,
        created_by_kind=version.author_kind,
        created_at=version.created_at,
    )


def review_out(review: PlanReviewRecord) -> ReviewOut:
    return ReviewOut(
        id=review.id,
        plan_id=review.plan_id,
        version=review.version_number,
        acknowledged=list(review.acknowledged),
        note=review.note,
        outcome=review.outcome,
        reviewed_by=review.reviewed_by,
        reviewed_by_kind=review.reviewer_kind,
        reviewed_at=review.reviewed_at,
    )
