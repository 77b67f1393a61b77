"""Fill or update a Titrate patient from the EHR's FHIR server (API.md §5.4).

The FHIR reads happen first, before the session is used, so no transaction waits on the
network; then one transaction writes the patient, the source of each value and the audit
row. Values the EHR does not give keep what Titrate had (an import never blanks a weight);
the active medication list is the EHR's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from app.db.models import PatientEhrValueRecord, PatientRecord
from app.db.repositories import ehr_values, patient_search
from app.db.repositories import patients as patient_repo
from app.db.repositories import users as user_repo
from app.domain.patients import FieldProblem, PatientFacts, find_patient_problems
from app.domain.titration.medications import MedicationDictionary
from app.ehr import smart
from app.ehr.connections import EhrConnection
from app.ehr.fetch import fetch_patient, find_patient
from app.ehr.fhir_client import EhrError, EhrNotFound, FhirClient
from app.ehr.mapping import ImportedPatient, ImportRules, Problem, stale_lab_problems
from app.services import audit
from app.services.audit import AuditEntry
from app.services.context import Actor, utc_now
from app.services.errors import EhrUnavailable, InvalidInput, NotFound
from app.services.permissions import clinic_scope, require
from app.services.versioning import lost_race_is_stale


@dataclass(frozen=True, slots=True)
class PatientSelector:
    """Which EHR patient: its FHIR id, or an identifier (system defaults to the MRN's)."""

    fhir_id: str | None = None
    identifier_system: str | None = None
    identifier_value: str | None = None


@dataclass(frozen=True, slots=True)
class ImportFinding:
    code: str  # "stale_lab" | "value_not_imported"
    field: str
    message: str
    source: str


@dataclass(frozen=True, slots=True)
class MedicationCheck:
    name: str
    recognised: bool
    source: str


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    record: PatientRecord
    created: bool
    source: str
    findings: tuple[ImportFinding, ...]
    medications: tuple[MedicationCheck, ...]


def read_ehr_patient(
    connection: EhrConnection, selector: PatientSelector, *, access_token: str | None
) -> ImportedPatient:
    """The network half of an import (no database): find the patient and read its values."""
    try:
        token = access_token or smart.backend_access_token(connection)
        client = FhirClient(connection.fhir_base, access_token=token)
        if selector.fhir_id:
            patient = client.read("Patient", selector.fhir_id)
        elif selector.identifier_value:
            patient = find_patient(
                client,
                system=selector.identifier_system or connection.mrn_system,
                value=selector.identifier_value,
            )
        else:
            raise InvalidInput((FieldProblem("patient", "Name the EHR patient to import."),))
        return fetch_patient(client, patient, mrn_system=connection.mrn_system)
    except EhrNotFound as exc:
        raise NotFound(str(exc)) from exc
    except (EhrError, smart.SmartError) as exc:
        raise EhrUnavailable(f"EHR {connection.id}: {exc}") from exc


def import_patient(
    session: Session,
    *,
    actor: Actor,
    connection: EhrConnection,
    selector: PatientSelector,
    medications: MedicationDictionary,
    rules: ImportRules,
    today: date,
    access_token: str | None = None,
) -> ImportOutcome:
    require(actor, "patient.create")
    require(actor, "patient.update")
    imported = read_ehr_patient(connection, selector, access_token=access_token)
    return save_imported(
        session,
        actor=actor,
        connection=connection,
        imported=imported,
        medications=medications,
        rules=rules,
        today=today,
    )


def save_imported(
    session: Session,
    *,
    actor: Actor,
    connection: EhrConnection,
    imported: ImportedPatient,
    medications: MedicationDictionary,
    rules: ImportRules,
    today: date,
) -> ImportOutcome:
    """The database half: create or update by MRN within the actor's clinic, one commit."""
    require(actor, "patient.create")
    require(actor, "patient.update")
    if imported.mrn is None:
        raise InvalidInput(
            (FieldProblem("mrn", f"The EHR patient has no identifier of {connection.mrn_system}."),)
        )
    clinic_id = clinic_scope(actor) or user_repo.default_clinic_id(session)
    record = patient_repo.get_by_mrn(session, clinic_id, imported.mrn)
    if record is not None and record.archived_at is not None:
        raise InvalidInput((FieldProblem("mrn", "This patient is archived in Titrate."),))
    facts = _facts(imported, None if record is None else patient_repo.to_facts(record))
    problems = find_patient_problems(facts, today=today) + _missing(imported)
    if problems:
        raise InvalidInput(problems)
    now = utc_now()
    created = record is None
    old_version = None if record is None else record.version
    if record is None:
        record = PatientRecord(clinic_id=clinic_id, created_at=now, updated_at=now)
        patient_repo.apply_facts(record, facts)
        patient_repo.add(session, record)
    else:
        patient_repo.apply_facts(record, facts)
        record.updated_at = now
        current = record.version
        with lost_race_is_stale(session, expected=current, current=lambda: record.version):
            session.flush()
    patient_search.replace_terms(session, record)
    ehr_values.replace_values(session, record.id, _source_rows(connection, imported, record, now))
    findings = _findings(imported, today=today, rules=rules)
    checks = tuple(
        MedicationCheck(m.name, medications.classify(m.name).medication_class is not None, m.source)
        for m in imported.medications
    )
    audit.record(
        session,
        actor,
        AuditEntry(
            "patient.import",
            "patient",
            str(record.id),
            record.id,
            old_version,
            record.version,
            detail={
                "ehr": connection.id,
                "created": created,
                "fields": sorted(_imported_fields(imported)),
                "findings": sorted({f.code for f in findings}),
                "unrecognised_medications": sum(1 for c in checks if not c.recognised),
            },
        ),
    )
    session.commit()
    return ImportOutcome(record, created, imported.source, findings, checks)


def _facts(imported: ImportedPatient, existing: PatientFacts | None) -> PatientFacts:
    base = existing or PatientFacts(
        mrn=imported.mrn or "",
        given_name=imported.given_name,
        family_name=imported.family_name,
        birth_date=imported.birth_date or date.min,
        sex=imported.sex or "",
        weight_kg=None,
        height_cm=None,
        serum_creatinine_value=None,
        serum_creatinine_unit=None,
        serum_creatinine_on=None,
        creatinine_clearance_ml_min=None,
        dialysis=False,
        pregnant=False,
        breastfeeding=False,
        conditions=(),
        medications=(),
        spinal_injury_level=None,
        brain_injury_on=None,
        preferred_language="en",
    )
    changes: dict[str, object] = {"medications": tuple(m.name for m in imported.medications)}
    if imported.given_name.strip():
        changes["given_name"] = imported.given_name
    if imported.family_name.strip():
        changes["family_name"] = imported.family_name
    if imported.birth_date is not None:
        changes["birth_date"] = imported.birth_date
    if imported.sex is not None:
        changes["sex"] = imported.sex
    if imported.weight is not None:
        changes["weight_kg"] = imported.weight.value
    if imported.height is not None:
        changes["height_cm"] = imported.height.value
    if imported.creatinine is not None:
        changes["serum_creatinine_value"] = imported.creatinine.value
        changes["serum_creatinine_unit"] = imported.creatinine.unit
        changes["serum_creatinine_on"] = imported.creatinine.effective_on
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _missing(imported: ImportedPatient) -> tuple[FieldProblem, ...]:
    problems = []
    if imported.birth_date is None:
        problems.append(FieldProblem("birth_date", "The EHR gives no full date of birth."))
    if imported.sex is None:
        problems.append(FieldProblem("sex", "The EHR gives no sex of female or male."))
    return tuple(problems)


def _imported_fields(imported: ImportedPatient) -> set[str]:
    fields = {"given_name", "family_name", "medications"}
    for name, value in (
        ("birth_date", imported.birth_date),
        ("sex", imported.sex),
        ("weight_kg", imported.weight),
        ("height_cm", imported.height),
        ("serum_creatinine", imported.creatinine),
    ):
        if value is not None:
            fields.add(name)
    return fields


def _source_rows(
    connection: EhrConnection, imported: ImportedPatient, record: PatientRecord, now: datetime
) -> list[PatientEhrValueRecord]:
    def row(
        field: str, value: str, unit: str | None, source: str, on: date | None
    ) -> PatientEhrValueRecord:
        return PatientEhrValueRecord(
            patient_id=record.id,
            ehr_id=connection.id,
            field=field,
            value=value[:200],
            unit=unit,
            source=source[:500],
            effective_on=on,
            imported_at=now,
        )

    rows = [row("patient", imported.mrn or "", None, imported.source, None)]
    for field, measured in (
        ("weight_kg", imported.weight),
        ("height_cm", imported.height),
        ("serum_creatinine", imported.creatinine),
    ):
        if measured is not None:
            rows.append(
                row(
                    field,
                    _text(measured.value),
                    measured.unit,
                    measured.source,
                    measured.effective_on,
                )
            )
    for medication in imported.medications:
        rows.append(
            row("medication", medication.name, None, medication.source, medication.recorded_on)
        )
    return rows


def _text(value: Decimal) -> str:
    return format(value, "f")


def _findings(
    imported: ImportedPatient, *, today: date, rules: ImportRules
) -> tuple[ImportFinding, ...]:
    stale = stale_lab_problems(imported, today=today, rules=rules)
    return tuple(
        ImportFinding("stale_lab", p.field, p.message, rules.source) for p in stale
    ) + tuple(
        ImportFinding("value_not_imported", p.field, p.message, imported.source)
        for p in _not_imported(imported.problems)
    )


def _not_imported(problems: tuple[Problem, ...]) -> tuple[Problem, ...]:
    return tuple(p for p in problems if p.field != "sex")  # sex is refused above, not a finding
