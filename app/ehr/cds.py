"""CDS Hooks 2.0 pieces that need no database: the discovery document, reading the draft
baclofen order and its daily dose, and the shape of a card."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.domain.json_numbers import json_number
from app.ehr.fhir_client import Resource
from app.ehr.mapping import CREATININE_CODES, HEIGHT_CODES, LOINC, WEIGHT_CODES

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
# Baclofen: RxNorm ingredient 1292, ATC M03BX01; brand names as the product labels give them.
BACLOFEN_CODES = {(RXNORM, "1292"), (ATC, "M03BX01")}
BACLOFEN_NAMES = ("baclofen", "lioresal", "ozobax", "fleqsuvy", "lyvispah", "gablofen")
# HL7 timing abbreviations (GTSAbbreviation) that say how often a day.
TIMES_A_DAY = {"QD": 1, "BID": 2, "TID": 3, "QID": 4, "AM": 1, "PM": 1}
HOURS = {"h": Decimal(1), "d": Decimal(24)}

SERVICES = {
    "baclofen-order-select": "order-select",
    "baclofen-order-sign": "order-sign",
}


def _observation_query(codes: tuple[str, ...]) -> str:
    joined = ",".join(f"{LOINC}|{code}" for code in codes)
    return f"Observation?patient={{{{context.patientId}}}}&code={joined}&_sort=-date&_count=20"


PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "weight": _observation_query(WEIGHT_CODES),
    "height": _observation_query(HEIGHT_CODES),
    "creatinine": _observation_query(CREATININE_CODES),
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    "statements": "MedicationStatement?patient={{context.patientId}}&status=active",
}


def discovery() -> dict[str, Any]:
    return {
        "services": [
            {
                "hook": hook,
                "id": service_id,
                "title": "Titrate baclofen safety check",
                "description": (
                    "Screens a draft baclofen order's daily dose against Titrate's rules for "
                    "this patient (renal function, age, co-medications, conditions)."
                ),
                "prefetch": PREFETCH,
                "usageRequirements": "Needs the patient's Patient, Observation and "
                "MedicationRequest resources (prefetch or fhirAuthorization).",
            }
            for service_id, hook in SERVICES.items()
        ]
    }


@dataclass(frozen=True, slots=True)
class OrderedDose:
    """The draft order's dose: per administration, how often a day, and the daily total."""

    per_administration_mg: Decimal | None  # None when the lines give different doses
    times_a_day: Decimal
    daily_mg: Decimal


class OrderUnreadable(Exception):
    """The order's dose or timing cannot be read exactly (the card says so)."""


def is_baclofen(order: Resource) -> bool:
    concept = order.get("medicationCodeableConcept") or {}
    for coding in concept.get("coding", []):
        if (coding.get("system"), coding.get("code")) in BACLOFEN_CODES:
            return True
    texts = [concept.get("text"), (order.get("medicationReference") or {}).get("display")]
    texts += [coding.get("display") for coding in concept.get("coding", [])]
    return any(
        isinstance(text, str) and any(name in text.lower() for name in BACLOFEN_NAMES)
        for text in texts
    )


def draft_baclofen_orders(context: dict[str, Any], *, selected_only: bool) -> list[Resource]:
    bundle = context.get("draftOrders") or {}
    orders = [
        entry.get("resource") or {}
        for entry in bundle.get("entry", [])
        if isinstance(entry, dict)
        and (entry.get("resource") or {}).get("resourceType") == "MedicationRequest"
    ]
    if selected_only:
        chosen = set(context.get("selections") or [])
        orders = [o for o in orders if f"MedicationRequest/{o.get('id')}" in chosen]
    return [order for order in orders if is_baclofen(order)]


def ordered_dose(order: Resource) -> OrderedDose:
    """The exact daily dose in mg; every dosage line must give a dose in mg and a timing."""
    dosages = order.get("dosageInstruction") or []
    if not dosages:
        raise OrderUnreadable("the order has no dosage instruction")
    doses = [(_dose_mg(dosage), _times_a_day(dosage)) for dosage in dosages]
    daily = sum((dose * times for dose, times in doses), Decimal(0))
    total_times = sum((times for _, times in doses), Decimal(0))
    same = {dose for dose, _ in doses}
    return OrderedDose(same.pop() if len(same) == 1 else None, total_times, daily)


def _dose_mg(dosage: dict[str, Any]) -> Decimal:
    rates = dosage.get("doseAndRate") or [{}]
    quantity = rates[0].get("doseQuantity") or {}
    value, unit = quantity.get("value"), quantity.get("code") or quantity.get("unit")
    if unit != "mg":
        raise OrderUnreadable(f"the dose is not given in mg ({unit or 'no unit'})")
    if isinstance(value, bool) or not isinstance(value, Decimal | int) or value <= 0:
        raise OrderUnreadable("the dose has no positive number")
    return Decimal(value)


def _times_a_day(dosage: dict[str, Any]) -> Decimal:
    timing = dosage.get("timing") or {}
    repeat = timing.get("repeat")
    if repeat:
        frequency = Decimal(repeat.get("frequency", 1))
        period, unit = repeat.get("period"), repeat.get("periodUnit")
        if unit not in HOURS or isinstance(period, bool) or not isinstance(period, Decimal | int):
            raise OrderUnreadable("the timing is not per hour or per day")
        hours = Decimal(period) * HOURS[unit]
        if hours <= 0:
            raise OrderUnreadable("the timing has no positive period")
        times = frequency * Decimal(24) / hours
        if times * hours != frequency * 24:
            raise OrderUnreadable("the timing does not give a whole schedule per day")
        return times
    code = ((timing.get("code") or {}).get("coding") or [{}])[0].get("code")
    if code in TIMES_A_DAY:
        return Decimal(TIMES_A_DAY[code])
    raise OrderUnreadable("the order has no timing Titrate can read")


INDICATORS = {"block": "critical", "major": "warning"}


def card(
    *,
    summary: str,
    detail: str,
    indicator: str,
    source_label: str,
    source_url: str | None,
    links: list[dict[str, Any]],
    suggestions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary[:140],
        "detail": detail,
        "indicator": indicator,
        "source": {"label": source_label, **({"url": source_url} if source_url else {})},
        "links": links,
    }
    if suggestions:
        body["suggestions"] = suggestions
        body["selectionBehavior"] = "at-most-one"
    return body


def dose_suggestion(
    order: Resource, *, per_administration_mg: Decimal, label: str
) -> dict[str, Any]:
    """Replace the draft order by the same order with a lower dose per administration."""
    updated = {**order}
    dosages = []
    for dosage in order.get("dosageInstruction") or []:
        rates = [dict(rate) for rate in dosage.get("doseAndRate") or [{}]]
        rates[0]["doseQuantity"] = {
            "value": per_administration_mg,
            "unit": "mg",
            "system": "http://unitsofmeasure.org",
            "code": "mg",
        }
        dosages.append({**dosage, "doseAndRate": rates, "text": None})
    updated["dosageInstruction"] = [
        {k: v for k, v in dosage.items() if v is not None} for dosage in dosages
    ]
    return {
        "label": label,
        "uuid": str(uuid.uuid4()),
        "isRecommended": True,
        "actions": [{"type": "update", "description": label, "resource": updated}],
    }


def json_numbers(value: Any) -> Any:
    """Decimals as JSON numbers (FHIR quantities are numbers); refused where a float cannot
    carry the exact digits, so no dose is ever changed by the encoding."""
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, dict):
        return {key: json_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_numbers(item) for item in value]
    return value
