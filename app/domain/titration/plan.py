"""The computed plan: API.md §3 response as frozen values (every dose carries its unit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from app.domain.titration.findings import Finding, Route
from app.domain.titration.model import PlanType
from app.domain.titration.protocol import ProtocolRef
from app.domain.titration.units import Dose, DoseUnit


class PlanStatus(StrEnum):
    READY = "ready"
    BLOCKED = "blocked"


class TimeOfDay(StrEnum):
    MORNING = "morning"
    MIDDAY = "midday"
    EVENING = "evening"
    NIGHT = "night"
    BOLUS = "bolus"
    CONTINUOUS = "continuous"


class RenalBand(StrEnum):
    NORMAL = "normal"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    DIALYSIS = "dialysis"
    UNKNOWN = "unknown"


class RenalMethod(StrEnum):
    COCKCROFT_GAULT = "cockcroft_gault"
    ENTERED = "entered"
    NONE = "none"


class WeightBasis(StrEnum):
    TOTAL = "total"
    ADJUSTED = "adjusted"
    IDEAL = "ideal"
    NONE = "none"


class MilestoneKind(StrEnum):
    REVIEW = "review"
    STOP = "stop"
    REEVALUATION = "reevaluation"


class PreparationForm(StrEnum):
    TABLET = "tablet"
    ORAL_SOLUTION = "oral_solution"
    INTRATHECAL_SOLUTION = "intrathecal_solution"


@dataclass(frozen=True, slots=True)
class Concentration:
    """Amount of baclofen per mL, e.g. 1 mg/mL or 50 mcg/mL."""

    value: Decimal
    unit: DoseUnit


@dataclass(frozen=True, slots=True)
class Preparation:
    """How one dose is given: tablets of one strength, or a volume of a solution."""

    form: PreparationForm
    tablet_strength: Dose | None = None
    tablets: Decimal | None = None
    concentration: Concentration | None = None
    volume_ml: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Administration:
    time_of_day: TimeOfDay
    dose: Dose
    preparation: Preparation | None = None


@dataclass(frozen=True, slots=True)
class DispenseLine:
    """Quantity to dispense: whole tablets of one strength, or mL of a solution."""

    form: PreparationForm
    quantity: Decimal
    quantity_unit: str
    tablet_strength: Dose | None = None
    concentration: Concentration | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """Days ``start_day``..``end_day`` (inclusive) at one daily dose = sum of administrations."""

    index: int
    start_day: int
    end_day: int
    start_date: date
    end_date: date
    daily_dose: Dose
    administrations: tuple[Administration, ...]
    dispense: tuple[DispenseLine, ...] = ()
    mg_per_kg_day: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Milestone:
    day: int
    date: date
    kind: MilestoneKind
    text: str


@dataclass(frozen=True, slots=True)
class RenalAssessment:
    """Renal function used by the plan (A.4), with the weight basis and the alternatives."""

    crcl_ml_min: Decimal | None
    band: RenalBand
    method: RenalMethod
    weight_basis: WeightBasis
    crcl_total_weight: Decimal | None = None
    crcl_ideal_weight: Decimal | None = None
    crcl_adjusted_weight: Decimal | None = None
    ideal_weight_kg: Decimal | None = None
    adjusted_weight_kg: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    max_daily_dose: Dose | None
    target_daily_dose: Dose | None


@dataclass(frozen=True, slots=True)
class AppliedOverride:
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """A computed plan. ``blocked`` plans have no steps and list every finding."""

    status: PlanStatus
    plan_type: PlanType
    route: Route
    unit: DoseUnit
    protocol: ProtocolRef
    protocols: tuple[ProtocolRef, ...]
    engine_version: str
    renal: RenalAssessment
    limits: Limits
    steps: tuple[Step, ...]
    dispense: tuple[DispenseLine, ...]
    milestones: tuple[Milestone, ...]
    findings: tuple[Finding, ...]
    overrides: tuple[AppliedOverride, ...]
