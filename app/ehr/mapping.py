"""FHIR R4 resources → the values a Titrate patient holds, each with its source and date.

Nothing is converted: a weight in kg, a height in cm and a creatinine in mg/dL or µmol/L
are taken as they are; any other unit leaves the value out and says so (a problem), so a
clinician enters it by hand. A medication without a name is kept under a name that says so,
which the engine then reports as unrecognised (never dropped silently).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

from app.ehr.fhir_client import Resource

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
WEIGHT_CODES = ("29463-7",)
HEIGHT_CODES = ("8302-2",)
CREATININE_CODES = ("2160-0", "14682-9")
USABLE_STATUSES = frozenset({"final", "amended", "corrected"})
# Units as written; the µ sign and "u" are the same UCUM unit.
_UNITS = {
    "weight_kg": {"kg": "kg"},
    "height_cm": {"cm": "cm"},
    "serum_creatinine": {"mg/dL": "mg/dL", "umol/L": "umol/L", "µmol/L": "umol/L"},
}
MAX_DECIMAL_PLACES = 4  # what the patient table stores (ScaledDecimal(4)) without rounding


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class Measurement:
    value: Decimal
    unit: str
    source: str
    effective_on: date


@dataclass(frozen=True, slots=True)
class ImportedMedication:
    name: str
    source: str
    recorded_on: date | None


@dataclass(frozen=True, slots=True)
class ImportedPatient:
    source: str
    mrn: str | None
    given_name: str
    family_name: str
    birth_date: date | None
    sex: str | None
    weight: Measurement | None
    height: Measurement | None
    creatinine: Measurement | None
    medications: tuple[ImportedMedication, ...]
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class ImportRules:
    max_lab_age_days: int
    source: str


def load_import_rules() -> ImportRules:
    raw = resources.files("app.ehr").joinpath("import-rules.json").read_text("utf-8")
    parameter = json.loads(raw)["parameters"]["max_lab_age_days"]
    return ImportRules(int(parameter["value"]), str(parameter["source"]))


def mrn_of(patient: Resource, mrn_system: str) -> str | None:
    for identifier in patient.get("identifier", []):
        if identifier.get("system") == mrn_system and isinstance(identifier.get("value"), str):
            return str(identifier["value"])
    return None


def map_patient(
    patient: Resource,
    *,
    source: str,
    mrn_system: str,
    observations: dict[str, list[tuple[Resource, str]]],
    medications: list[tuple[Resource, str]],
) -> ImportedPatient:
    """``observations`` maps weight_kg/height_cm/serum_creatinine to (resource, its URL)."""
    problems: list[Problem] = []
    given, family = _name(patient)
    sex = patient.get("gender") if patient.get("gender") in ("female", "male") else None
    if sex is None:
        problems.append(Problem("sex", "The EHR gives no sex of female or male; enter it here."))
    measured = {
        field: _newest_measurement(field, observations.get(field, []), problems)
        for field in ("weight_kg", "height_cm", "serum_creatinine")
    }
    return ImportedPatient(
        source=source,
        mrn=mrn_of(patient, mrn_system),
        given_name=given,
        family_name=family,
        birth_date=_date(patient.get("birthDate")),
        sex=sex,
        weight=measured["weight_kg"],
        height=measured["height_cm"],
        creatinine=measured["serum_creatinine"],
        medications=tuple(_medication(resource, url) for resource, url in medications),
        problems=tuple(problems),
    )


def stale_lab_problems(
    imported: ImportedPatient, *, today: date, rules: ImportRules
) -> tuple[Problem, ...]:
    """A serum creatinine older than the rules allow (or from the future) is a finding."""
    lab = imported.creatinine
    if lab is None:
        return ()
    age_days = (today - lab.effective_on).days
    if age_days > rules.max_lab_age_days:
        return (
            Problem(
                "serum_creatinine",
                f"The serum creatinine is {age_days} days old (more than "
                f"{rules.max_lab_age_days}); measure it again before relying on it.",
            ),
        )
    return ()


def _name(patient: Resource) -> tuple[str, str]:
    names = [n for n in patient.get("name", []) if isinstance(n, dict)]
    chosen = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = " ".join(str(part) for part in chosen.get("given", []))
    return given, str(chosen.get("family", ""))


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None  # a year or year-month is not a date of birth Titrate can use
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _when(observation: Resource) -> datetime | None:
    period = observation.get("effectivePeriod") or {}
    for value in (
        observation.get("effectiveDateTime"),
        observation.get("effectiveInstant"),
        period.get("end"),
        period.get("start"),
        observation.get("issued"),
    ):
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _newest_measurement(
    field: str, found: list[tuple[Resource, str]], problems: list[Problem]
) -> Measurement | None:
    dated = [
        (moment, resource, url)
        for resource, url in found
        if resource.get("status") in USABLE_STATUSES and (moment := _when(resource)) is not None
    ]
    if not dated:
        return None
    moment, resource, url = max(dated, key=lambda item: item[0])
    quantity = resource.get("valueQuantity") or {}
    value, unit_text = quantity.get("value"), quantity.get("code") or quantity.get("unit")
    unit = _UNITS[field].get(str(unit_text))
    if not isinstance(value, Decimal | int) or isinstance(value, bool) or unit is None:
        problems.append(
            Problem(field, f"The newest value ({url}) has no usable value in {_wanted(field)}.")
        )
        return None
    exact = Decimal(value)
    exponent = exact.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -MAX_DECIMAL_PLACES:
        problems.append(Problem(field, f"The newest value ({url}) has more than 4 decimals."))
        return None
    return Measurement(exact, unit, url, moment.date())


def _wanted(field: str) -> str:
    return " or ".join(sorted(set(_UNITS[field].values())))


def _medication(resource: Resource, url: str) -> ImportedMedication:
    concept = resource.get("medicationCodeableConcept") or {}
    reference = resource.get("medicationReference") or {}
    codings = [c for c in concept.get("coding", []) if isinstance(c, dict)]
    name = concept.get("text") or next(
        (c["display"] for c in codings if isinstance(c.get("display"), str)), None
    )
    name = name or reference.get("display")
    if not isinstance(name, str) or not name.strip():
        name = f"unnamed medication ({resource.get('resourceType')}/{resource.get('id')})"
    recorded = resource.get("authoredOn") or resource.get("dateAsserted")
    return ImportedMedication(" ".join(name.split())[:200], url, _date(recorded))
