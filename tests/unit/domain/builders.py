"""Small builders for domain tests: a plain adult patient and request, varied by keyword."""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain import titration
from app.domain.titration import (
    CreatinineUnit,
    Dose,
    DoseUnit,
    Indication,
    Patient,
    Plan,
    PlanRequest,
    PlanType,
    ProtocolSet,
    SerumCreatinine,
    Sex,
    build_plan,
    draft,
    load_protocols,
    steps,
)
from app.domain.titration.protocol import Derived, Protocol, read_protocol_bytes

PROTOCOLS = load_protocols()
START = date(2026, 12, 1)


_ENGINE_MODULES = tuple(
    importlib.import_module(f"app.domain.titration.{module.name}")
    for module in pkgutil.iter_modules(titration.__path__)
)


def forget_remembered_values(protocols: ProtocolSet = PROTOCOLS) -> None:
    """Empty everything the engine remembers (ARCHITECTURE.md, "The engine's memory"): the
    module caches and the memories of ``protocols`` and of each of its protocols. Before
    every domain test (conftest.py), so each test computes what it asserts: a value another
    test left behind would hide a wrong rule from that test, and from mutation testing,
    which runs only the tests that reached the mutated function."""
    for module in _ENGINE_MODULES:
        for value in vars(module).values():
            if (
                hasattr(value, "cache_clear")
                and getattr(value, "__module__", "") == module.__name__
            ):
                value.cache_clear()  # an lru_cache of that module
    steps._remembered_steps.clear()
    draft._remembered_totals.clear()
    memories: list[Derived] = [protocols.derived]
    memories += [
        value.derived
        for value in (getattr(protocols, field.name) for field in fields(protocols))
        if isinstance(value, Protocol)
    ]
    for memory in memories:
        memory._values.clear()
        memory._remembered.clear()
    protocols.medications._remembered.clear()
    protocols.findings._remembered.clear()


def packaged_with(protocol_id: str, **values: Any) -> Callable[[str], bytes]:
    """A protocol reader for `load_protocols`: the packaged files, with the named parameters
    of one protocol given new values (a pharmacist's draft, say)."""
    document = json.loads(read_protocol_bytes(protocol_id))
    for name, value in values.items():
        document["parameters"][name]["value"] = value
    changed = json.dumps(document).encode()

    def read(requested: str) -> bytes:
        return changed if requested == protocol_id else read_protocol_bytes(requested)

    return read


def mg(value: str | int) -> Dose:
    return Dose(Decimal(value), DoseUnit.MG)


def mcg(value: str | int) -> Dose:
    return Dose(Decimal(value), DoseUnit.MCG)


def creatinine(value: str, unit: CreatinineUnit = CreatinineUnit.MG_DL) -> SerumCreatinine:
    return SerumCreatinine(Decimal(value), unit)


def make_patient(**overrides: Any) -> Patient:
    """45-year-old man, 80 kg, SCr 0.9 mg/dL (SC-01: CrCl 117.3, normal)."""
    base = Patient(
        sex=Sex.MALE,
        age_years=Decimal(45),
        weight_kg=Decimal(80),
        serum_creatinine=creatinine("0.9"),
    )
    return replace(base, **overrides)


def make_request(**overrides: Any) -> PlanRequest:
    base = PlanRequest(
        plan_type=PlanType.ORAL_TITRATION,
        start_date=START,
        indication=Indication.MULTIPLE_SCLEROSIS,
        patient=make_patient(),
    )
    return replace(base, **overrides)


def plan_for(**overrides: Any) -> Plan:
    """Build the plan for ``make_request(**overrides)`` against the packaged protocols."""
    return build_plan(make_request(**overrides), PROTOCOLS)


def daily_doses(plan: Plan) -> list[Decimal]:
    return [step.daily_dose.value for step in plan.steps]


def single_doses(plan: Plan) -> list[list[Decimal]]:
    return [[a.dose.value for a in step.administrations] for step in plan.steps]


def day_ranges(plan: Plan) -> list[tuple[int, int]]:
    return [(step.start_day, step.end_day) for step in plan.steps]


def codes(plan: Plan) -> set[str]:
    return {finding.code for finding in plan.findings}
