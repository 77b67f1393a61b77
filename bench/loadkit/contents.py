"""Stored plan contents for seeding: real engine plans through the plan codec, as a save
stores them (canonical JSON, content hash, engine version, acknowledged major findings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain import titration
from app.domain.titration.findings import Severity
from app.domain.titration.model import (
    CreatinineUnit,
    Indication,
    IntrathecalInput,
    Patient,
    PlanRequest,
    PlanType,
    SerumCreatinine,
    Sex,
)
from app.domain.titration.units import Dose, DoseUnit
from app.services.plan_codec import canonical_json, content_sha256


@dataclass(frozen=True, slots=True)
class StoredContent:
    plan_type: str
    unit: str
    status: str
    input_json: str
    plan_json: str
    content_sha256: str
    engine_version: str
    acknowledged: tuple[str, ...]


def plan_contents() -> list[tuple[StoredContent, StoredContent]]:
    """(version 1, version 2) pairs: oral titrations to a higher target, and intrathecal."""
    protocols = titration.load_protocols()
    oral = [_oral_request(target) for target in ("20", "30", "40", "50")]
    itb = [_itb_request(bolus) for bolus in ("50", "75", "100")]
    pairs = [(oral[i], oral[i + 1]) for i in range(3)] + [(itb[0], itb[1]), (itb[1], itb[2])]
    return [(_stored(a, protocols), _stored(b, protocols)) for a, b in pairs]


def _stored(request: PlanRequest, protocols: Any) -> StoredContent:
    plan = titration.build_plan(request, protocols)
    # A save needs no override here: the seed would have to audit it (plan.override).
    assert not plan.overrides, "seed plans must save without overrides"
    input_json, plan_json = canonical_json(request), canonical_json(plan)
    majors = sorted(f.code for f in plan.findings if f.severity is Severity.MAJOR)
    return StoredContent(
        plan_type=plan.plan_type.value,
        unit=plan.unit.value,
        status=plan.status.value,
        input_json=input_json,
        plan_json=plan_json,
        content_sha256=content_sha256(input_json=input_json, plan_json=plan_json),
        engine_version=plan.engine_version,
        acknowledged=tuple(majors),
    )


def _adult(**extra: Any) -> Patient:
    return Patient(
        sex=Sex.FEMALE,
        birth_date=date(1968, 3, 14),
        weight_kg=Decimal(72),
        height_cm=Decimal(168),
        serum_creatinine=SerumCreatinine(Decimal("0.8"), CreatinineUnit.MG_DL),
        medications=("amlodipine",),
        **extra,
    )


def _oral_request(target: str) -> PlanRequest:
    return PlanRequest(
        plan_type=PlanType.ORAL_TITRATION,
        start_date=date(2026, 11, 2),
        indication=Indication.MULTIPLE_SCLEROSIS,
        patient=_adult(),
        target_daily_dose=Dose(Decimal(target), DoseUnit.MG),
    )


def _itb_request(bolus: str) -> PlanRequest:
    return PlanRequest(
        plan_type=PlanType.ITB_TITRATION,
        start_date=date(2026, 11, 2),
        indication=Indication.SPINAL_CORD_INJURY,
        patient=_adult(spinal_injury_level="T10"),
        intrathecal=IntrathecalInput(
            effective_bolus=Dose(Decimal(bolus), DoseUnit.MCG),
            effect_duration_hours=Decimal(6),
        ),
    )
