"""The JSON bytes of a computed plan (`PlanOut`), written straight from the domain values.

`POST /api/v1/plans/preview` answers on every pause in a client's typing; validating the plan
into `PlanOut` and serialising that model cost more than the engine itself (issue 12). This
module writes the same document directly: the keys in `PlanOut`'s field order, enums as their
values (they are StrEnums, which the JSON encoder writes as the string), every Decimal as
`decimal_to_json_number` writes it, None as null, compact separators, UTF-8 as is. The route
keeps `PlanOut` as its `response_model`, so OpenAPI and the clients generated from it are
unchanged, and `tests/api/v1/test_plan_json.py` holds the bytes equal to what FastAPI sends
for a `PlanOut` (`dump_json` of the validated model) for every kind of plan.

A number with more than four decimal places is refused here as `ExactNumber` refuses it
(API.md §2: the API promises at most four); the engine never produces one.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from app.api.v1.schemas import decimal_to_json_number
from app.domain.titration.findings import Finding
from app.domain.titration.plan import (
    Administration,
    AppliedOverride,
    Concentration,
    DispenseLine,
    Milestone,
    Plan,
    Preparation,
    RenalAssessment,
    Step,
)
from app.domain.titration.protocol import ProtocolRef
from app.domain.titration.units import Dose

_FOUR_PLACES = Decimal("0.0001")
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def plan_json(plan: Plan) -> bytes:
    """`PlanOut` of ``plan`` as JSON bytes, byte for byte what FastAPI would send."""
    return _ENCODE(plan_document(plan)).encode()


def plan_document(plan: Plan) -> dict[str, Any]:
    """`PlanOut` of ``plan`` as plain JSON data (numbers as int or float)."""
    return {
        "status": plan.status,
        "plan_type": plan.plan_type,
        "route": plan.route,
        "unit": plan.unit,
        "protocol": _ref(plan.protocol),
        "protocols": [_ref(ref) for ref in plan.protocols],
        "engine_version": plan.engine_version,
        "renal": _renal(plan.renal),
        "limits": {
            "max_daily_dose": _dose(plan.limits.max_daily_dose),
            "target_daily_dose": _dose(plan.limits.target_daily_dose),
        },
        "steps": [_step(step) for step in plan.steps],
        "dispense": [_dispense(line) for line in plan.dispense],
        "milestones": [_milestone(milestone) for milestone in plan.milestones],
        "findings": [_finding(finding) for finding in plan.findings],
        "overrides": [_override(override) for override in plan.overrides],
    }


def number(value: Decimal) -> int | float:
    """`decimal_to_json_number` with `ExactNumber`'s limit of four decimal places."""
    if value != value.to_integral_value() and value.quantize(_FOUR_PLACES) != value:
        raise ValueError(f"{value} has more than four decimal places")
    return decimal_to_json_number(value)


def _optional_number(value: Decimal | None) -> int | float | None:
    return None if value is None else number(value)


def _ref(ref: ProtocolRef) -> dict[str, Any]:
    return {"id": ref.id, "version": ref.version, "sha256": ref.sha256}


def _dose(dose: Dose | None) -> dict[str, Any] | None:
    if dose is None:
        return None
    return {"value": number(dose.value), "unit": dose.unit}


def _concentration(concentration: Concentration | None) -> dict[str, Any] | None:
    if concentration is None:
        return None
    return {"value": number(concentration.value), "unit": concentration.unit, "per": "mL"}


def _renal(renal: RenalAssessment) -> dict[str, Any]:
    return {
        "crcl_ml_min": _optional_number(renal.crcl_ml_min),
        "band": renal.band,
        "method": renal.method,
        "weight_basis": renal.weight_basis,
        "crcl_total_weight": _optional_number(renal.crcl_total_weight),
        "crcl_ideal_weight": _optional_number(renal.crcl_ideal_weight),
        "crcl_adjusted_weight": _optional_number(renal.crcl_adjusted_weight),
    }


def _step(step: Step) -> dict[str, Any]:
    return {
        "index": step.index,
        "start_day": step.start_day,
        "end_day": step.end_day,
        "start_date": step.start_date.isoformat(),
        "end_date": step.end_date.isoformat(),
        "daily_dose": _dose(step.daily_dose),
        "administrations": [_administration(item) for item in step.administrations],
        "dispense": [_dispense(line) for line in step.dispense],
        "mg_per_kg_day": _optional_number(step.mg_per_kg_day),
    }


def _administration(administration: Administration) -> dict[str, Any]:
    return {
        "time_of_day": administration.time_of_day,
        "dose": _dose(administration.dose),
        "preparation": _preparation(administration.preparation),
    }


def _preparation(preparation: Preparation | None) -> dict[str, Any] | None:
    if preparation is None:
        return None
    return {
        "form": preparation.form,
        "tablet_strength": _dose(preparation.tablet_strength),
        "tablets": _optional_number(preparation.tablets),
        "concentration": _concentration(preparation.concentration),
        "volume_ml": _optional_number(preparation.volume_ml),
    }


def _dispense(line: DispenseLine) -> dict[str, Any]:
    return {
        "form": line.form,
        "quantity": number(line.quantity),
        "quantity_unit": line.quantity_unit,
        "tablet_strength": _dose(line.tablet_strength),
        "concentration": _concentration(line.concentration),
    }


def _milestone(milestone: Milestone) -> dict[str, Any]:
    return {
        "day": milestone.day,
        "date": milestone.date.isoformat(),
        "kind": milestone.kind,
        "text": milestone.text,
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": finding.severity,
        "overridable": finding.overridable,
        "rule": finding.rule,
        "message": finding.message,
        "source": finding.source,
    }


def _override(override: AppliedOverride) -> dict[str, Any]:
    return {"code": override.code, "reason": override.reason}
