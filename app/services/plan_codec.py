"""Canonical JSON for stored plans: decimals as strings, keys sorted, so hashes are stable.

Nothing passes through float on the way to the database; the content hash printed on a
schedule can be recomputed from the stored text at any time, and a stored input turns back
into the engine request it was (``request_from_plain``: impact reports, step decisions).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from app.domain.titration.model import (
    CreatinineUnit,
    Formulation,
    Indication,
    IntrathecalInput,
    Override,
    Patient,
    PlanRequest,
    PlanType,
    SerumCreatinine,
    Setting,
    Sex,
    TaperReason,
)
from app.domain.titration.units import Dose, DoseUnit


def to_plain(value: Any) -> Any:
    """Domain values (dataclasses, tuples, enums, Decimal, dates) as plain JSON data."""
    kind = _KINDS.get(type(value))
    if kind is None:
        kind = _KINDS[type(value)] = _kind_of(type(value))
    if kind is _OTHER:
        return value
    if kind is _DECIMAL:
        return format(value, "f")
    if kind is _ENUM:
        return value.value
    if kind is _DATE:
        return value.isoformat()
    if kind is _SEQUENCE:
        return [to_plain(item) for item in value]
    if kind is _MAPPING:
        return {str(k): to_plain(v) for k, v in value.items()}
    return {name: to_plain(getattr(value, name)) for name in kind}


# What to_plain does with a value depends on its type alone, so it is decided once per type
# (a live preview converts a few hundred values per keystroke). The order of the checks is
# the order in which they apply: a dataclass first, then enum, Decimal, date, sequence, dict.
_OTHER, _DECIMAL, _ENUM, _DATE, _SEQUENCE, _MAPPING = (
    ("other",), ("decimal",), ("enum",), ("date",), ("sequence",), ("mapping",)
)  # fmt: skip
_KINDS: dict[type, tuple[str, ...]] = {}


def _kind_of(cls: type) -> tuple[str, ...]:
    if dataclasses.is_dataclass(cls) and not issubclass(cls, type):
        return tuple(f.name for f in dataclasses.fields(cls))  # the field names, in order
    for kind, base in ((_ENUM, Enum), (_DECIMAL, Decimal), (_DATE, date)):
        if issubclass(cls, base):
            return kind
    if issubclass(cls, list | tuple):
        return _SEQUENCE
    return _MAPPING if issubclass(cls, dict) else _OTHER


def canonical_json(value: Any) -> str:
    return json.dumps(to_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_sha256(*, input_json: str, plan_json: str) -> str:
    return hashlib.sha256(f"{input_json}\n{plan_json}".encode()).hexdigest()


def request_from_plain(data: dict[str, Any]) -> PlanRequest:
    """The engine request a stored version was computed from (its canonical ``input_json``,
    decoded): the inverse of ``to_plain`` for a ``PlanRequest``, patient included, so a
    recomputation under other protocols starts from exactly what the prescriber entered."""
    itb = data.get("intrathecal")
    return PlanRequest(
        plan_type=PlanType(data["plan_type"]),
        start_date=date.fromisoformat(data["start_date"]),
        indication=Indication(data["indication"]),
        patient=_patient(data["patient"]),
        setting=Setting(data.get("setting") or Setting.OUTPATIENT.value),
        target_daily_dose=_dose(data.get("target_daily_dose")),
        current_daily_dose=_dose(data.get("current_daily_dose")),
        step_interval_days=data.get("step_interval_days"),
        doses_per_day=data.get("doses_per_day"),
        formulation=Formulation(data["formulation"]) if data.get("formulation") else None,
        intrathecal=None if itb is None else IntrathecalInput(
            effective_bolus=_dose(itb.get("effective_bolus")),
            effect_duration_hours=_decimal(itb.get("effect_duration_hours")),
            step_percent=_decimal(itb.get("step_percent")),
            days=itb.get("days"),
            screening_responses=tuple(itb.get("screening_responses") or ()),
        ),
        overrides=tuple(Override(o["code"], o["reason"]) for o in data.get("overrides") or ()),
        taper_reason=TaperReason(data["taper_reason"]) if data.get("taper_reason") else None,
        taper_min_days=data.get("taper_min_days"),
    )  # fmt: skip


def _patient(data: dict[str, Any]) -> Patient:
    creatinine = data.get("serum_creatinine")
    return Patient(
        sex=Sex(data["sex"]),
        birth_date=_date(data.get("birth_date")),
        age_years=_decimal(data.get("age_years")),
        weight_kg=_decimal(data.get("weight_kg")),
        height_cm=_decimal(data.get("height_cm")),
        serum_creatinine=None if creatinine is None else SerumCreatinine(
            Decimal(creatinine["value"]), CreatinineUnit(creatinine["unit"])
        ),
        creatinine_clearance_ml_min=_decimal(data.get("creatinine_clearance_ml_min")),
        dialysis=bool(data.get("dialysis")),
        conditions=tuple(data.get("conditions") or ()),
        medications=tuple(data.get("medications") or ()),
        pregnant=bool(data.get("pregnant")),
        breastfeeding=bool(data.get("breastfeeding")),
        spinal_injury_level=data.get("spinal_injury_level"),
        brain_injury_date=_date(data.get("brain_injury_date")),
    )  # fmt: skip


def _dose(value: dict[str, str] | None) -> Dose | None:
    return None if value is None else Dose(Decimal(value["value"]), DoseUnit(value["unit"]))


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)
