"""Patient queries, and the only place that turns PatientRecord into domain facts and back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.orm import Session

from app.db.models import PatientRecord
from app.db.repositories import patient_search
from app.db.row_ids import is_possible_row_id
from app.domain.patients import PatientFacts
from app.domain.titration.model import CreatinineUnit, Patient, SerumCreatinine, Sex


@dataclass(frozen=True, slots=True)
class PatientPage:
    items: tuple[PatientRecord, ...]
    next_after: tuple[str, int] | None


def get(session: Session, patient_id: int, *, clinic_id: int | None) -> PatientRecord | None:
    """The patient if it belongs to `clinic_id`; None also for another clinic's patient, so the
    caller cannot tell the two apart. `clinic_id=None` (every clinic) is for the system only."""
    if not is_possible_row_id(patient_id):
        return None
    if clinic_id is None:
        return session.get(PatientRecord, patient_id)
    values = {"patient_id": patient_id, "clinic_id": clinic_id}
    return session.scalars(_IN_CLINIC, values).first()


# Composed once: composing it (each clause coerced anew) cost half as much again as running
# it, on the read every live-preview fragment makes.
_IN_CLINIC = select(PatientRecord).where(
    PatientRecord.id == bindparam("patient_id"), PatientRecord.clinic_id == bindparam("clinic_id")
)


def get_by_mrn(session: Session, clinic_id: int, mrn: str) -> PatientRecord | None:
    query = select(PatientRecord).where(
        PatientRecord.clinic_id == clinic_id, PatientRecord.mrn == mrn
    )
    return session.scalars(query).first()


def add(session: Session, record: PatientRecord) -> None:
    session.add(record)
    session.flush()


def search(
    session: Session,
    *,
    clinic_id: int | None,
    text: str,
    limit: int,
    after: tuple[str, int] | None,
    include_archived: bool,
) -> PatientPage:
    """Patients with a name or MRN word beginning each word of `text` (any order, accents and
    case ignored; patient_search.py), or all of them for no words; a date among the words
    narrows to that birth date. Keyset pagination on (search_text, id): stable pages, no
    OFFSET scans."""
    names, birth_date = patient_search.split_query(text)
    words = patient_search.query_words(names)
    if not words:
        return _list(session, clinic_id, limit, after, include_archived, birth_date)
    found: list[PatientRecord] = []
    batch = limit + 1
    while len(found) <= limit:
        query = patient_search.candidates(clinic_id, words, after=after, limit=batch)
        keys = [(str(key), int(patient_id)) for key, patient_id in session.execute(query)]
        found += _shown(session, clinic_id, [p for _, p in keys], include_archived, birth_date)
        if len(keys) < batch:
            break
        # Archived patients were among the candidates: look further, in bigger steps.
        after, batch = keys[-1], batch * 4
    return _page(found, limit)


def _list(
    session: Session,
    clinic_id: int | None,
    limit: int,
    after: tuple[str, int] | None,
    include_archived: bool,
    birth_date: date | None = None,
) -> PatientPage:
    # The clinic's patients in (search_text, id) order: ix_patient_clinic_search_text; born on
    # one day: ix_patient_clinic_birth_date.
    query = select(PatientRecord)
    if clinic_id is not None:
        query = query.where(PatientRecord.clinic_id == clinic_id)
    if birth_date is not None:
        query = query.where(PatientRecord.birth_date == birth_date)
    if not include_archived:
        query = query.where(PatientRecord.archived_at.is_(None))
    if after is not None:
        query = query.where(tuple_(PatientRecord.search_text, PatientRecord.id) > tuple_(*after))
    query = query.order_by(PatientRecord.search_text, PatientRecord.id).limit(limit + 1)
    return _page(list(session.scalars(query)), limit)


def _shown(
    session: Session,
    clinic_id: int | None,
    ids: list[int],
    include_archived: bool,
    birth_date: date | None = None,
) -> list[PatientRecord]:
    """The patients of `ids` a search may show, in the order of `ids`."""
    if not ids:
        return []
    query = select(PatientRecord).where(PatientRecord.id.in_(ids))
    if birth_date is not None:
        query = query.where(PatientRecord.birth_date == birth_date)
    if clinic_id is not None:
        query = query.where(PatientRecord.clinic_id == clinic_id)
    if not include_archived:
        query = query.where(PatientRecord.archived_at.is_(None))
    by_id = {record.id: record for record in session.scalars(query)}
    return [by_id[i] for i in ids if i in by_id]


def _page(rows: list[PatientRecord], limit: int) -> PatientPage:
    if len(rows) > limit:
        last = rows[limit - 1]
        return PatientPage(tuple(rows[:limit]), (last.search_text, last.id))
    return PatientPage(tuple(rows), None)


def search_text_for(facts: PatientFacts) -> str:
    return f"{facts.family_name} {facts.given_name} {facts.mrn}".lower()[:260]


def to_facts(record: PatientRecord) -> PatientFacts:
    return PatientFacts(
        mrn=record.mrn,
        given_name=record.given_name,
        family_name=record.family_name,
        birth_date=record.birth_date,
        sex=record.sex,
        weight_kg=record.weight_kg,
        height_cm=record.height_cm,
        serum_creatinine_value=record.serum_creatinine_value,
        serum_creatinine_unit=record.serum_creatinine_unit,
        serum_creatinine_on=record.serum_creatinine_on,
        creatinine_clearance_ml_min=record.creatinine_clearance_ml_min,
        dialysis=record.dialysis,
        pregnant=record.pregnant,
        breastfeeding=record.breastfeeding,
        conditions=tuple(record.conditions),
        medications=tuple(record.medications),
        spinal_injury_level=record.spinal_injury_level,
        brain_injury_on=record.brain_injury_on,
        preferred_language=record.preferred_language,
        indication=record.indication,
    )


def apply_facts(record: PatientRecord, facts: PatientFacts) -> None:
    record.mrn = facts.mrn
    record.given_name = facts.given_name
    record.family_name = facts.family_name
    record.search_text = search_text_for(facts)
    record.birth_date = facts.birth_date
    record.sex = facts.sex
    record.weight_kg = facts.weight_kg
    record.height_cm = facts.height_cm
    record.serum_creatinine_value = facts.serum_creatinine_value
    record.serum_creatinine_unit = facts.serum_creatinine_unit
    record.serum_creatinine_on = facts.serum_creatinine_on
    record.creatinine_clearance_ml_min = facts.creatinine_clearance_ml_min
    record.dialysis = facts.dialysis
    record.pregnant = facts.pregnant
    record.breastfeeding = facts.breastfeeding
    record.conditions = list(facts.conditions)
    record.medications = list(facts.medications)
    record.spinal_injury_level = facts.spinal_injury_level
    record.brain_injury_on = facts.brain_injury_on
    record.preferred_language = facts.preferred_language
    record.indication = facts.indication


def to_engine_patient(record: PatientRecord) -> Patient:
    """The facts the dosing engine plans from, as stored on the record."""
    creatinine = None
    if record.serum_creatinine_value is not None and record.serum_creatinine_unit is not None:
        creatinine = SerumCreatinine(
            record.serum_creatinine_value, CreatinineUnit(record.serum_creatinine_unit)
        )
    return Patient(
        sex=Sex(record.sex),
        birth_date=record.birth_date,
        weight_kg=record.weight_kg,
        height_cm=record.height_cm,
        serum_creatinine=creatinine,
        creatinine_clearance_ml_min=record.creatinine_clearance_ml_min,
        dialysis=record.dialysis,
        conditions=tuple(record.conditions),
        medications=tuple(record.medications),
        pregnant=record.pregnant,
        breastfeeding=record.breastfeeding,
        spinal_injury_level=record.spinal_injury_level,
        brain_injury_date=record.brain_injury_on,
    )
