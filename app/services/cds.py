"""CDS Hooks 2.0 services (API.md §5.4): screen a draft baclofen order and answer cards.

The engine screens the ordered daily dose for this patient as it screens a plan's target:
every finding becomes a card (block → critical, major → warning, else info) naming its rule
and source; a dose above this patient's maximum gets a suggestion with the highest dose the
rules and the tablet strengths allow. Each call and each feedback is audited (ids only).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.domain.patients import FieldProblem
from app.domain.titration import (
    CreatinineUnit,
    Dose,
    DoseUnit,
    Indication,
    Patient,
    PlanRequest,
    PlanType,
    SerumCreatinine,
    Sex,
    TargetAboveHardLimitError,
    TitrationError,
    build_plan,
    round_to_strength,
)
from app.domain.titration.library import ProtocolSet
from app.ehr import cds
from app.ehr.connections import EhrConnection
from app.ehr.fetch import fetch_patient
from app.ehr.fhir_client import EhrError, FhirClient, Resource
from app.ehr.mapping import ImportedPatient, map_patient
from app.services import audit
from app.services.audit import AuditEntry
from app.services.context import Actor
from app.services.errors import EhrUnavailable, InvalidInput, NotFound

SOURCE_LABEL = "Titrate"


@dataclass(frozen=True, slots=True)
class HookCall:
    service_id: str
    hook: str
    hook_instance: str
    context: dict[str, Any]
    prefetch: dict[str, Any] | None
    fhir_server: str | None
    fhir_access_token: str | None


def ehr_actor(connection: EhrConnection, *, request_id: str | None, client_ip: str | None) -> Actor:
    return Actor(
        kind="system",
        id=None,
        name=f"ehr:{connection.id}",
        request_id=request_id,
        client_ip=client_ip,
    )


def answer_hook(
    session: Session,
    *,
    actor: Actor,
    connection: EhrConnection,
    call: HookCall,
    protocols: ProtocolSet,
    public_url: str,
    today: date,
) -> dict[str, Any]:
    if call.service_id not in cds.SERVICES:
        raise NotFound(f"no CDS service {call.service_id}")
    if call.hook != cds.SERVICES[call.service_id]:
        raise InvalidInput(
            (FieldProblem("hook", f"This service answers {cds.SERVICES[call.service_id]}."),)
        )
    orders = cds.draft_baclofen_orders(call.context, selected_only=call.hook == "order-select")
    cards: list[dict[str, Any]] = []
    if orders:
        links = [_planner_link(public_url, connection)]
        imported = _patient_data(connection, call)
        if imported is None:
            cards.append(
                _info(
                    "Titrate could not read this patient's record",
                    "Neither prefetch nor FHIR access was given; open the planner to screen "
                    "this order.",
                    links,
                )
            )
        else:
            for order in orders:
                cards.extend(_screen(order, imported, protocols, today, links))
    audit.record(
        session,
        actor,
        AuditEntry(
            "cds.hook",
            "cds_service",
            call.service_id,
            detail={
                "ehr": connection.id,
                "hook_instance": call.hook_instance[:80],
                "orders": len(orders),
                "indicators": sorted({c["indicator"] for c in cards}),
            },
        ),
    )
    session.commit()
    return {"cards": cards}


def record_feedback(
    session: Session,
    *,
    actor: Actor,
    connection: EhrConnection,
    service_id: str,
    feedback: list[dict[str, Any]],
) -> int:
    if service_id not in cds.SERVICES:
        raise NotFound(f"no CDS service {service_id}")
    for item in feedback:
        reason = (item.get("overrideReason") or {}).get("reason") or {}
        audit.record(
            session,
            actor,
            AuditEntry(
                "cds.feedback",
                "cds_card",
                str(item.get("card", ""))[:40],
                detail={
                    "ehr": connection.id,
                    "service": service_id,
                    "outcome": item.get("outcome"),
                    "accepted_suggestions": [
                        str(s.get("id", ""))[:40] for s in item.get("acceptedSuggestions") or []
                    ],
                    "override_reason": reason.get("code"),
                    "outcome_timestamp": item.get("outcomeTimestamp"),
                },
            ),
        )
    session.commit()
    return len(feedback)


def _patient_data(connection: EhrConnection, call: HookCall) -> ImportedPatient | None:
    prefetch = call.prefetch or {}
    base = connection.fhir_base.rstrip("/")
    if isinstance(prefetch.get("patient"), dict):

        def listed(key: str) -> list[tuple[Resource, str]]:
            bundle = prefetch.get(key) or {}
            resources = [
                e.get("resource") or {} for e in bundle.get("entry", []) if isinstance(e, dict)
            ]
            return [
                (r, f"{base}/{r.get('resourceType')}/{r.get('id')}")
                for r in resources
                if isinstance(r, dict)
            ]

        patient = prefetch["patient"]
        return map_patient(
            patient,
            source=f"{base}/Patient/{patient.get('id')}",
            mrn_system=connection.mrn_system,
            observations={
                "weight_kg": listed("weight"),
                "height_cm": listed("height"),
                "serum_creatinine": listed("creatinine"),
            },
            medications=[
                (r, url)
                for r, url in listed("medications") + listed("statements")
                if r.get("status") == "active"
            ],
        )
    patient_id = call.context.get("patientId")
    if not call.fhir_server or not call.fhir_access_token or not isinstance(patient_id, str):
        return None
    if call.fhir_server.rstrip("/") != base:
        # Only the configured FHIR server is ever called: a request cannot send us elsewhere.
        raise InvalidInput(
            (FieldProblem("fhirServer", "This is not the EHR's configured FHIR server."),)
        )
    client = FhirClient(connection.fhir_base, access_token=call.fhir_access_token)
    try:
        return fetch_patient(
            client, client.read("Patient", patient_id), mrn_system=connection.mrn_system
        )
    except EhrError as exc:
        raise EhrUnavailable(f"EHR {connection.id}: {exc}") from exc


def _screen(
    order: Resource,
    imported: ImportedPatient,
    protocols: ProtocolSet,
    today: date,
    links: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    try:
        dose = cds.ordered_dose(order)
    except cds.OrderUnreadable as exc:
        return [
            _info(
                "Titrate could not read the baclofen dose",
                f"Not screened: {exc}. Open the planner to check this order.",
                links,
            )
        ]
    if imported.sex is None or imported.birth_date is None:
        return [
            _info(
                "Titrate needs sex and date of birth to screen baclofen",
                "The EHR record gives no sex of female or male or no full date of birth.",
                links,
            )
        ]
    indication, indication_known = _indication(order)
    request = PlanRequest(
        plan_type=PlanType.ORAL_TITRATION,
        start_date=today,
        indication=indication,
        patient=_engine_patient(imported, imported.sex),
        target_daily_dose=Dose(dose.daily_mg, DoseUnit.MG),
    )
    above_limit: str | None = None
    try:
        try:
            plan = build_plan(request, protocols)
        except TargetAboveHardLimitError as exc:
            # Screen the patient without the ordered target to learn the patient's maximum.
            above_limit = str(exc)
            plan = build_plan(dataclasses.replace(request, target_daily_dose=None), protocols)
    except TitrationError as exc:
        return [_info("Titrate could not screen this baclofen order", str(exc), links)]
    daily = _mg(dose.daily_mg)
    cards = [
        cds.card(
            summary=f"Baclofen {daily}/day: {finding.message}",
            detail=f"{finding.message}\n\nRule {finding.rule}. Source: {finding.source}.",
            indicator=cds.INDICATORS.get(finding.severity.value, "info"),
            source_label=f"{SOURCE_LABEL} ({finding.rule})",
            source_url=None,
            links=links,
        )
        for finding in plan.findings
    ]
    maximum = plan.limits.max_daily_dose
    if above_limit is not None and maximum is not None:
        cards.insert(0, _above_maximum(order, dose, maximum.value, protocols, above_limit, links))
    if not indication_known:
        cards.append(
            _info(
                "Indication not in the order: screened as spinal spasticity",
                "Set the indication in the planner: cerebral origin and some indications add "
                "findings.",
                links,
            )
        )
    return cards


def _above_maximum(
    order: Resource,
    dose: cds.OrderedDose,
    maximum: Decimal,
    protocols: ProtocolSet,
    reason: str,
    links: list[dict[str, Any]],
) -> dict[str, Any]:
    suggestions = []
    if dose.per_administration_mg is not None:
        strength = min(protocols.formulary.decimal_lists["tablet_strengths_mg"])
        per_dose = round_to_strength(maximum / dose.times_a_day, strength)
        if per_dose > 0:
            suggestions.append(
                cds.dose_suggestion(
                    order,
                    per_administration_mg=per_dose,
                    label=f"Order {_mg(per_dose)} per dose "
                    f"({_mg(per_dose * dose.times_a_day)}/day)",
                )
            )
    return cds.card(
        summary=(
            f"Baclofen {_mg(dose.daily_mg)}/day is above this patient's maximum of "
            f"{_mg(maximum)}/day"
        ),
        detail=(
            f"{reason} The limit follows from the patient's age, weight and renal function "
            "(Titrate's protocol). The suggestion keeps the order's timing and rounds each dose "
            "down to a tablet strength."
        ),
        indicator="critical",
        source_label=SOURCE_LABEL,
        source_url=None,
        links=links,
        suggestions=suggestions,
    )


def _indication(order: Resource) -> tuple[Indication, bool]:
    for concept in order.get("reasonCode") or []:
        texts = [concept.get("text")] + [c.get("display") for c in concept.get("coding", [])]
        for text in texts:
            if isinstance(text, str):
                key = "_".join(text.lower().split())
                if key in Indication._value2member_map_:
                    return Indication(key), True
    return Indication.OTHER_SPINAL, False


def _engine_patient(imported: ImportedPatient, sex: str) -> Patient:
    creatinine = None
    if imported.creatinine is not None:
        creatinine = SerumCreatinine(
            imported.creatinine.value, CreatinineUnit(imported.creatinine.unit)
        )
    return Patient(
        sex=Sex(sex),
        birth_date=imported.birth_date,
        weight_kg=imported.weight.value if imported.weight else None,
        height_cm=imported.height.value if imported.height else None,
        serum_creatinine=creatinine,
        medications=tuple(m.name for m in imported.medications),
    )


def _planner_link(public_url: str, connection: EhrConnection) -> dict[str, Any]:
    return {
        "label": "Open the Titrate planner",
        "url": f"{public_url.rstrip('/')}/smart/launch",
        "type": "smart",
        "appContext": json.dumps({"ehr": connection.id, "open": "planner"}),
    }


def _info(summary: str, detail: str, links: list[dict[str, Any]]) -> dict[str, Any]:
    return cds.card(
        summary=summary,
        detail=detail,
        indicator="info",
        source_label=SOURCE_LABEL,
        source_url=None,
        links=links,
    )


def _mg(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return f"{text} mg"
