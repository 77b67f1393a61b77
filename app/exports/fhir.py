"""A stored plan version as a FHIR R4 Bundle (API.md §4, amended by §5.3).

Two Bundle types. The default is a `collection`: a set of resources for the receiver to read
or import, with references between them resolved inside the Bundle (`urn:uuid:` fullUrls).
`?bundle=transaction` gives the same resources as a `transaction` a FHIR server can take as
it is: every entry is a conditional create on its identifier (`ifNoneExist`), so posting
the same export twice writes nothing new; a revision's Bundle also carries the version it
replaces as a conditional update to `stopped`, so a server that received both holds one
active order.

Entries: the Patient and the one MedicationRequest that carries the schedule, then one
SupplyRequest per dispense line (one product each, with its count). FHIR gives a
MedicationRequest a single `dispenseRequest.quantity` of a single product, so the request
carries the quantity only when the plan dispenses one product; it names every SupplyRequest
in `supportingInformation`, and each SupplyRequest points back with the R5 `basedOn`
(the FHIR cross-version extension, as R4 SupplyRequest has no such element).

Dosages: one `dosageInstruction` per step (`sequence` = step number) when every dose time of
the step takes the same dose (§4, unchanged). A step whose doses differ by time of day
(15 / 10 / 15 mg) has one Dosage per dose time, all with the step's `sequence` (concurrent
instructions), each with its own `when` and a single `doseQuantity`, so a medication chart
knows what to give when. Pump steps carry only a rate (`rateQuantity` in `ug/d`): a rate is
not a dose given once a day. A revision names the version it replaces in
`priorPrescription`.

Codes, and where they were checked:
- medication: ATC M03BX01 "baclofen" (WHO ATC/DDD index, group M03BX "other centrally
  acting agents") and RxNorm 1292 (baclofen, term type IN) — see CHOICES.md "Export codes";
- route: SNOMED CT 26643006 "Oral route" (FHIR route-codes value set) and 72607000
  "Intrathecal route" (DICOM CID 11 as shipped by DCMTK; a Turkish ConceptMap to SNOMED CT);
- `when`: MORN, NOON, EVE (http://hl7.org/fhir/event-timing) and HS "prior to a regular
  period of extended sleep" (v3 TimingEvent, part of the R4 EventTiming value set) for the
  night dose, which is a bedtime dose, not one that wakes the patient;
- units: UCUM `mg`, `ug` (shown as "mcg"), `ug/d`, `mL`; tablets: v3 orderableDrugForm TAB.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from app.config import Settings
from app.db.models import PlanVersionRecord
from app.exports.schedule import (
    Dose,
    DoseGroup,
    ExportPlan,
    Step,
    Supply,
    instruction_text,
    json_number,
    read_plan,
    step_instruction_text,
)
from app.services.plan_exports import ExportSource

FHIR_JSON = "application/fhir+json"
BundleType = Literal["collection", "transaction"]
BUNDLE_TYPES: tuple[BundleType, ...] = ("collection", "transaction")
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# R5's SupplyRequest.basedOn, carried into R4 by the FHIR cross-version extension.
SUPPLY_BASED_ON = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SupplyRequest.basedOn"
BACLOFEN_CODING = (
    {"system": ATC, "code": "M03BX01", "display": "baclofen"},
    {"system": RXNORM, "code": "1292", "display": "baclofen"},
)
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

    @property
    def version_system(self) -> str:
        """Identifies one saved version's order: `<plan id>-v<n>`."""
        return f"{self.plan_system}/version"

    @property
    def supply_system(self) -> str:
        return f"{self.plan_system}/supply"


def build_bundle(
    source: ExportSource,
    options: FhirOptions,
    *,
    now: datetime,
    bundle_type: BundleType = "collection",
) -> dict[str, Any]:
    """The Bundle as plain JSON data; every dose value is an exact JSON number."""
    plan = read_plan(source.version.plan_json)
    patient_url = _urn(source, "patient")
    schedule_url = _urn(source, "schedule")
    supply_urls = [_urn(source, f"supply-{n}") for n in range(1, len(plan.supplies) + 1)]
    patient = _patient(source, options)
    schedule = _schedule(source, source.version, plan, options, patient_url, _status(source))
    if supply_urls:
        schedule["supportingInformation"] = [{"reference": url} for url in supply_urls]
    # (fullUrl, resource, replaces: a conditional update rather than a conditional create)
    entries = [(patient_url, patient, False), (schedule_url, schedule, False)]
    previous = source.previous
    if previous is not None:
        prior_url = _urn(source, "prior")
        if bundle_type == "transaction":
            schedule["priorPrescription"] = {"reference": prior_url}
            superseded = f"Superseded by version {source.version.number} of this plan."
            prior = _schedule(
                source, previous, read_plan(previous.plan_json), options, patient_url,
                ("stopped", superseded),
            )  # fmt: skip
            entries.append((prior_url, prior, True))
        else:  # not in a collection: named by its identifier
            schedule["priorPrescription"] = {
                "identifier": _version_identifier(source, previous, options),
                "display": f"Baclofen plan {source.plan.id} version {previous.number}",
            }
    for number, (url, supply) in enumerate(zip(supply_urls, plan.supplies, strict=True), 1):
        request = _supply_request(source, supply, patient_url, schedule_url, number, options)
        entries.append((url, request, False))
    return {
        "resourceType": "Bundle",
        "identifier": {"system": options.plan_system, "value": _version_key(source.version)},
        "type": bundle_type,
        "timestamp": now.isoformat(),
        "entry": [
            _entry(url, resource, bundle_type, options, replaces=replaces)
            for url, resource, replaces in entries
        ],
    }


def _urn(source: ExportSource, part: str) -> str:
    # Deterministic: exporting the same version twice gives the same references.
    name = f"titrate:plan:{source.plan.id}:v{source.version.number}:{part}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _entry(
    full_url: str,
    resource: dict[str, Any],
    bundle_type: BundleType,
    options: FhirOptions,
    *,
    replaces: bool,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"fullUrl": full_url, "resource": resource}
    if bundle_type == "transaction":
        entry["request"] = _request(resource, options, replaces=replaces)
    return entry


def _request(resource: dict[str, Any], options: FhirOptions, *, replaces: bool) -> dict[str, str]:
    """A conditional create on the resource's identifier; the replaced version's order is a
    conditional update (it becomes `stopped`, created so if the server never had it)."""
    kind = resource["resourceType"]
    system = {
        "Patient": options.mrn_system,
        "MedicationRequest": options.version_system,
        "SupplyRequest": options.supply_system,
    }[kind]
    value = next(i["value"] for i in resource["identifier"] if i["system"] == system)
    search = f"identifier={system}|{value}"
    if replaces:
        return {"method": "PUT", "url": f"{kind}?{search}"}
    return {"method": "POST", "url": kind, "ifNoneExist": search}


def _version_key(version: PlanVersionRecord) -> str:
    return f"{version.plan_id}-v{version.number}"


def _version_identifier(
    source: ExportSource, version: PlanVersionRecord, options: FhirOptions
) -> dict[str, str]:
    return {"use": "official", "system": options.version_system, "value": _version_key(version)}


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


def _requester(source: ExportSource, version: PlanVersionRecord) -> dict[str, str]:
    """Who ordered: a person (Practitioner) by display name and title, or a client system
    (Device) named as one, so a token's free-text name never reads as a clinician's."""
    if version.author_kind == "client":
        return {"type": "Device", "display": f"{version.created_by} (API client)"}
    named = source.prescriber if version is source.version else ""
    return {"type": "Practitioner", "display": named or version.created_by}


def _status(source: ExportSource) -> tuple[str, str | None]:
    """A superseded version is stopped: its instructions were replaced by a newer version."""
    if source.superseded:
        return "stopped", f"Superseded by version {source.plan.current_version} of this plan."
    return _STATUS[source.plan.state], source.plan.state_reason


def _schedule(
    source: ExportSource,
    version: PlanVersionRecord,
    plan: ExportPlan,
    options: FhirOptions,
    patient_url: str,
    status: tuple[str, str | None],
) -> dict[str, Any]:
    medication = "Baclofen (intrathecal)" if plan.is_intrathecal else "Baclofen"
    request: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "meta": {"versionId": str(version.number), "lastUpdated": version.created_at.isoformat()},
        "identifier": [
            {"use": "usual", "system": options.plan_system, "value": str(source.plan.id)},
            _version_identifier(source, version, options),
            {
                "use": "secondary",
                "system": f"{options.plan_system}/content-sha256",
                "value": version.content_sha256,
            },
        ],
        "status": status[0],
        "intent": "order",
        "groupIdentifier": {"system": options.plan_system, "value": _version_key(version)},
        "medicationCodeableConcept": {"coding": list(BACLOFEN_CODING), "text": medication},
        "subject": {"reference": patient_url},
        "authoredOn": version.created_at.isoformat(),
        "requester": _requester(source, version),
    }
    if status[1]:
        request["statusReason"] = {"text": status[1]}
    request["note"] = [{"text": _provenance(source, version, plan)}]
    request["dosageInstruction"] = [
        dosage for step in plan.steps for dosage in _dosages(step, plan.route)
    ]
    dispense: dict[str, Any] = {}
    if plan.steps:
        dispense["validityPeriod"] = _period(plan.steps[0].start, plan.steps[-1].end)
    if len(plan.supplies) == 1:
        dispense["quantity"] = _supply_quantity(plan.supplies[0])
    if dispense:
        request["dispenseRequest"] = dispense
    return request


def _provenance(source: ExportSource, version: PlanVersionRecord, plan: ExportPlan) -> str:
    return (
        f"Titrate {plan.label} plan {source.plan.id}, version {version.number}; "
        f"content SHA-256 {version.content_sha256}; protocol {plan.protocol}; "
        f"engine {plan.engine_version}."
    )


def _dosages(step: Step, route: str) -> list[dict[str, Any]]:
    """One Dosage for a step whose dose times take the same dose; one per dose time (same
    `sequence`) when they differ."""
    groups = step.groups()
    if len(groups) == 1:
        [group] = groups
        return [_dosage(step, route, group, step_instruction_text(step), daily=True)]
    return [
        _dosage(step, route, single, instruction_text(step, single), daily=False)
        for admin in step.administrations
        for single in [DoseGroup((admin.time_of_day,), admin.dose, admin.take)]
    ]


def _dosage(step: Step, route: str, group: DoseGroup, text: str, *, daily: bool) -> dict[str, Any]:
    times = list(group.times)
    repeat: dict[str, Any] = {"boundsPeriod": _period(step.start, step.end)}
    continuous = times == ["continuous"]
    if not continuous:  # a pump's rate runs all day: no count of administrations
        one_a_day = times == ["bolus"]
        repeat |= {"frequency": 1 if one_a_day else len(times), "period": 1, "periodUnit": "d"}
    when = [_EVENT_TIMING[t] for t in times if t in _EVENT_TIMING]
    if when:
        repeat["when"] = when
    dosage: dict[str, Any] = {
        "sequence": step.index,
        "text": text,
        "timing": {"repeat": repeat},
        "route": {"coding": [_ROUTES[route]], "text": route},
        "doseAndRate": [_dose_and_rate(group)],
    }
    if daily and when:
        dosage["maxDosePerPeriod"] = {"numerator": _quantity(step.daily), "denominator": _PER_DAY}
    return dosage


def _dose_and_rate(group: DoseGroup) -> dict[str, Any]:
    if group.times == ("continuous",):
        rate = {
            **_quantity(group.dose),
            "unit": f"{group.dose.unit}/day",
            "code": f"{_UCUM_CODES[group.dose.unit]}/d",
        }
        return {"type": _ORDERED, "rateQuantity": rate}
    return {"type": _ORDERED, "doseQuantity": _quantity(group.dose)}


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


def _supply_request(
    source: ExportSource,
    supply: Supply,
    patient_url: str,
    schedule_url: str,
    number: int,
    options: FhirOptions,
) -> dict[str, Any]:
    status, _ = _status(source)
    return {
        "resourceType": "SupplyRequest",
        "extension": [{"url": SUPPLY_BASED_ON, "valueReference": {"reference": schedule_url}}],
        "identifier": [
            {
                "use": "official",
                "system": options.supply_system,
                "value": f"{_version_key(source.version)}-{number}",
            }
        ],
        "status": _SUPPLY_STATUS[status],
        "itemCodeableConcept": {"coding": list(BACLOFEN_CODING), "text": supply.product},
        "quantity": _supply_quantity(supply),
        "authoredOn": source.version.created_at.isoformat(),
        "requester": _requester(source, source.version),
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
