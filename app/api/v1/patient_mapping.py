"""Between API schemas and the patient facts the services take."""

from __future__ import annotations

from typing import Any

from app.api.v1.schemas import PatientCreate, PatientRead, PatientUpdate, SerumCreatinineRead
from app.db.models import PatientRecord
from app.domain.patients import FieldProblem, PatientFacts
from app.services.errors import InvalidInput


def facts_from_create(body: PatientCreate) -> PatientFacts:
    if body.birth_date is None:
        raise InvalidInput((FieldProblem("birth_date", "A stored patient needs a birth date."),))
    if body.sex is None:
        raise InvalidInput((FieldProblem("sex", "Give the patient's sex (female or male)."),))
    creatinine = body.serum_creatinine
    return PatientFacts(
        mrn=body.mrn.strip(),
        given_name=body.given_name.strip(),
        family_name=body.family_name.strip(),
        birth_date=body.birth_date,
        sex=body.sex,
        weight_kg=body.weight_kg,
        height_cm=body.height_cm,
        serum_creatinine_value=creatinine.value if creatinine else None,
        serum_creatinine_unit=creatinine.unit if creatinine else None,
        serum_creatinine_on=creatinine.measured_on if creatinine else None,
        creatinine_clearance_ml_min=body.creatinine_clearance_ml_min,
        dialysis=body.dialysis,
        pregnant=body.pregnant,
        breastfeeding=body.breastfeeding,
        conditions=tuple(dict.fromkeys(body.conditions)),
        medications=tuple(m.strip() for m in body.medications),
        spinal_injury_level=body.spinal_injury_level,
        brain_injury_on=body.brain_injury_date,
        preferred_language=body.preferred_language,
    )


_NOT_NULLABLE = {"mrn", "given_name", "family_name", "birth_date", "sex", "preferred_language",
                 "dialysis", "pregnant", "breastfeeding", "conditions", "medications"}  # fmt: skip


def changes_from_update(body: PatientUpdate) -> dict[str, Any]:
    sent = body.model_dump(exclude_unset=True)
    nulls = sorted(field for field in _NOT_NULLABLE if field in sent and sent[field] is None)
    if nulls:
        raise InvalidInput(tuple(FieldProblem(f, "This field cannot be null.") for f in nulls))
    changes: dict[str, Any] = {
        k: v for k, v in sent.items() if k not in {"serum_creatinine", "brain_injury_date"}
    }
    if "brain_injury_date" in sent:
        changes["brain_injury_on"] = sent["brain_injury_date"]
    if "serum_creatinine" in sent:
        creatinine = body.serum_creatinine
        changes["serum_creatinine_value"] = creatinine.value if creatinine else None
        changes["serum_creatinine_unit"] = creatinine.unit if creatinine else None
        changes["serum_creatinine_on"] = creatinine.measured_on if creatinine else None
    for field in ("conditions", "medications"):
        if field in changes:
            changes[field] = tuple(changes[field])
    return changes


def to_patient_read(record: PatientRecord) -> PatientRead:
    creatinine = None
    if record.serum_creatinine_value is not None and record.serum_creatinine_unit is not None:
        creatinine = SerumCreatinineRead(
            value=record.serum_creatinine_value,
            unit=record.serum_creatinine_unit,
            measured_on=record.serum_creatinine_on,
        )
    return PatientRead(
        id=record.id,
        version=record.version,
        mrn=record.mrn,
        given_name=record.given_name,
        family_name=record.family_name,
        birth_date=record.birth_date,
        sex=record.sex,
        weight_kg=record.weight_kg,
        height_cm=record.height_cm,
        serum_creatinine=creatinine,
        creatinine_clearance_ml_min=record.creatinine_clearance_ml_min,
        dialysis=record.dialysis,
        conditions=list(record.conditions),
        medications=list(record.medications),
        pregnant=record.pregnant,
        breastfeeding=record.breastfeeding,
        spinal_injury_level=record.spinal_injury_level,
        brain_injury_date=record.brain_injury_on,
        preferred_language=record.preferred_language,
        archived=record.archived_at is not None,
        archive_reason=record.archive_reason,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )
