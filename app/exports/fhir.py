"""A stored plan version as a FHIR R4 Bundle (API.md §4).

The Bundle is a `collection`: a set of resources for the receiver to read or import, with
references between them resolved inside the Bundle (`urn:uuid:` fullUrls). A `document`
would need a Composition and attestation; a `transaction` would tell a server to write.

Entries, exactly as API.md §4 fixes them: the Patient and the one MedicationRequest that
carries the schedule, with exactly one `dosageInstruction` per step (`sequence` = step
number, strictly increasing) and its `dispenseRequest`; then one SupplyRequest per dispense
line. FHIR gives a MedicationRequest a single `dispenseRequest.quantity` of a single product,
and a plan may dispense tablets of three strengths, so the request carries the quantity only
when the plan dispenses one product, and the SupplyRequests always name every product with
its count (never an ambiguous "99 tablets").

A step whose doses differ between dose times (a taper level of 15 / 10 / 15 mg) still has one
Dosage: its `text` gives every dose time's dose, `doseRange` spans the smallest to the largest
single dose, and `maxDosePerPeriod` holds the exact daily total (every oral step carries it).

Codes, and where they were checked:
- route: SNOMED CT 26643006 "Oral route" (FHIR route-codes value set) and 72607000
  "Intrathecal route" (DICOM CID 11 as shipped by DCMTK; a Turkish ConceptMap to SNOMED CT);
- `when`: MORN, NOON, EVE (http://hl7.org/fhir/event-timing) and HS "prior to a regular
  period of extended sleep" (v3 TimingEvent, part of the R4 EventTiming value set) for the
  night dose, which is a bedtime dose, not one that wakes the patient;
- units: UCUM `mg`, `ug` (shown as "mcg"), `ug/d`, `mL`; tablets: v3 orderableDrugForm TAB.
- The medication is text only ("Baclofen"): no RxNorm or SNOMED CT code for it could be
  confirmed from a source here, and a wrong code is worse than none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.config import Settings
from app.exports.schedule import (
    Dose,
    DoseGroup,
    ExportPlan,
    Step,
    Supply,
    json_number,
    read_plan,
    step_instruction_text,
)
from app.services.plan_exports import ExportSource

FHIR_JSON = "application/fhir+json"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
_UCUM_CODES = {"mg": "mg", "mcg": "ug"}
_ROUTES = {
    "oral": {"system": SNOMED, "code": "26643006", "display": "Oral route"},
    "intrathecal": {"system": SNOMED, "code": "72607000", "display": "Intrathecal route"},
}
_EVENT_TIMING = {"morning": "MORN", "midday": "NOON", "evening": "EVE", "night": "HS"}
_STATUS = {"active": "active", "on_hold": "on-hold", "discontinued": "stopped"}
_SUPPLY_STATUS = {"active": "active", "on-hold": "suspended", "stopped": "cancelled"}
_PER_DAY = {"value": 1, "unit": "d", "system": UCUM, "code": "d"}
_GENDER = {"female": "female", "male": "male"}
_MRN_TYPE = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
            "code": "MR",
            "display": "Medical record number",
        }
    ]
}
_DOSE_RATE_TYPE = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
_ORDERED = {"coding": [{"system": _DOSE_RATE_TYPE, "code": "ordered"}]}


@dataclass(frozen=True, slots=True)
class FhirOptions:
    mrn_system: str
    plan_system: str

    @classmethod
    def from_settings(cls, settings: Settings) -> FhirOptions:
        return cls(mrn_system=settings.fhir_mrn_system, plan_system=settings.fhir_plan_system)


def build_bundle(source: ExportSource, options: FhirOptions, *, now: datetime) -> dict[str, Any]:
    """The Bundle as plain JSON data; every dose value is an exact JSON number."""
    plan = read_plan(source.version.plan_json)
    patient_url = _urn(source, "patient")
    schedule_url = _urn(source, "schedule")
    entries = [
        _entry(patient_url, _patient(source, options)),
        _entry(schedule_url, _schedule(source, plan, options, patient_url)),
    ]
    for number, supply in enumerate(plan.supplies, start=1):
        request = _supply_request(source, supply, patient_url)
        entries.append(_entry(_urn(source, f"supply-{number}"), request))
    return {
        "resourceType": "Bundle",
        "identifier": {"system": options.plan_system, "value": _version_key(source)},
        "type": "collection",
        "timestamp": now.isoformat(),
        "entry": entries,
    }


def _urn(source: ExportSource, part: str) -> str:
    # Deterministic: exporting the same version twice gives the same references.
    name = f"titrate:plan:{source.plan.id}:v{source.version.number}:{part}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _entry(full_url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": full_url, "resource": resource}


def _version_key(source: ExportSource) -> str:
    return f"{source.plan.id}-v{source.version.number}"


def _patient(source: ExportSource, options: FhirOptions) -> dict[str, Any]:
    record = source.patient
    language = {"coding": [{"system": "urn:ietf:bcp:47", "code": record.preferred_language}]}
    return {
        "resourceType": "Patient",
        "identifier": [
            {"use": "usual", "type": _MRN_TYPE, "system": options.mrn_system, "value": record.mrn}
        ],
        "name": [{"family": record.family_name, "given": [record.given_name]}],
        "gender": _GENDER.get(record.sex, "unknown"),
        "birthDate": record.birth_date.isoformat(),
        "communication": [{"language": language, "preferred": True}],
    }


def _request_base(
    source: ExportSource, options: FhirOptions, patient_url: str, medication: str
) -> dict[str, Any]:
    status, reason = _status(source)
    request: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "meta": {
            "versionId": str(source.version.number),
            "lastUpdated": source.version.created_at.isoformat(),
        },
        "status": status,
        "intent": "order",
        "groupIdentifier": {"system": options.plan_system, "value": _version_key(source)},
        "medicationCodeableConcept": {"text": medication},
        "subject": {"reference": patient_url},
        "authoredOn": source.version.created_at.isoformat(),
        "requester": {"display": source.prescriber or source.version.created_by},
    }
    if reason:
        request["statusReason"] = {"text": reason}
    return request


def _status(source: ExportSource) -> tuple[str, str | None]:
    """A superseded version is stopped: its instructions were replaced by a newer version."""
    if source.superseded:
        return "stopped", f"Superseded by version {source.plan.current_version} of this plan."
    return _STATUS[source.plan.state], source.plan.state_reason


def _schedule(
    source: ExportSource, plan: ExportPlan, options: FhirOptions, patient_url: str
) -> dict[str, Any]:
    medication = "Baclofen (intrathecal)" if plan.is_intrathecal else "Baclofen"
    request = _request_base(source, options, patient_url, medication)
    request["identifier"] = [
        {"use": "usual", "system": options.plan_system, "value": str(source.plan.id)},
        {
            "use": "secondary",
            "system": f"{options.plan_system}/content-sha256",
            "value": source.version.content_sha256,
        },
    ]
    request["note"] = [{"text": _provenance(source, plan)}]
    request["dosageInstruction"] = [_dosage(step, plan.route) for step in plan.steps]
    dispense: dict[str, Any] = {}
    if plan.steps:
        dispense["validityPeriod"] = _period(plan.steps[0].start, plan.steps[-1].end)
    if len(plan.supplies) == 1:
        dispense["quantity"] = _supply_quantity(plan.supplies[0])
    if dispense:
        request["dispenseRequest"] = dispense
    return request


def _provenance(source: ExportSource, plan: ExportPlan) -> str:
    return (
        f"Titrate {plan.label} plan {source.plan.id}, version {source.version.number}; "
        f"content SHA-256 {source.version.content_sha256}; protocol {plan.protocol}; "
        f"engine {plan.engine_version}."
    )


def _dosage(step: Step, route: str) -> dict[str, Any]:
    groups = step.groups()
    times = [a.time_of_day for a in step.administrations]
    one_a_day = times in (["bolus"], ["continuous"])
    repeat: dict[str, Any] = {
        "boundsPeriod": _period(step.start, step.end),
        "frequency": 1 if one_a_day else len(times),
        "period": 1,
        "periodUnit": "d",
    }
    when = [_EVENT_TIMING[t] for t in times if t in _EVENT_TIMING]
    if when:
        repeat["when"] = when
    dosage: dict[str, Any] = {
        "sequence": step.index,
        "text": step_instruction_text(step),
        "timing": {"repeat": repeat},
        "route": {"coding": [_ROUTES[route]], "text": route},
        "doseAndRate": [_dose_and_rate(groups)],
    }
    if not one_a_day:
        dosage["maxDosePerPeriod"] = {"numerator": _quantity(step.daily), "denominator": _PER_DAY}
    return dosage


def _dose_and_rate(groups: tuple[DoseGroup, ...]) -> dict[str, Any]:
    """One single dose when every dose time takes the same; otherwise the range of them."""
    if len(groups) > 1:
        doses = sorted((g.dose for g in groups), key=lambda dose: dose.value)
        low, high = _quantity(doses[0]), _quantity(doses[-1])
        return {"type": _ORDERED, "doseRange": {"low": low, "high": high}}
    [group] = groups
    dose_and_rate: dict[str, Any] = {"type": _ORDERED, "doseQuantity": _quantity(group.dose)}
    if group.times == ("continuous",):
        dose_and_rate["rateQuantity"] = {
            **_quantity(group.dose),
            "unit": f"{group.dose.unit}/day",
            "code": f"{_UCUM_CODES[group.dose.unit]}/d",
        }
    return dose_and_rate


def _quantity(dose: Dose) -> dict[str, Any]:
    return {
        "value": json_number(dose.value),
        "unit": dose.unit,
        "system": UCUM,
        "code": _UCUM_CODES[dose.unit],
    }


def _period(start: date, end: date) -> dict[str, str]:
    # Date precision: FHIR reads an end date as including the whole of that day.
    return {"start": start.isoformat(), "end": end.isoformat()}


def _supply_request(source: ExportSource, supply: Supply, patient_url: str) -> dict[str, Any]:
    status, _ = _status(source)
    return {
        "resourceType": "SupplyRequest",
        "status": _SUPPLY_STATUS[status],
        "itemCodeableConcept": {"text": supply.product},
        "quantity": _supply_quantity(supply),
        "authoredOn": source.version.created_at.isoformat(),
        "requester": {"display": source.prescriber or source.version.created_by},
        "deliverTo": {"reference": patient_url},
    }


def _supply_quantity(supply: Supply) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": json_number(supply.quantity)}
    if supply.unit == "tablet":
        quantity |= {
            "unit": "tablet",
            "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
            "code": "TAB",
        }
    else:
        quantity |= {"unit": "mL", "system": UCUM, "code": "mL"}
    return quantity
