"""Small builders for domain tests: a plain adult patient and request, varied by keyword."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain.titration import (
    CreatinineUnit,
    Dose,
    DoseUnit,
    Indication,
    Patient,
    Plan,
    PlanRequest,
    PlanType,
    SerumCreatinine,
    Sex,
    build_plan,
    load_protocols,
)

PROTOCOLS = load_protocols()
START = date(2026, 12, 1)


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
