"""The plan request: the preview body of API.md §3 as frozen values.

The shell parses JSON into these types; the engine checks what it relies on
(``validation.py``) and never reads anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from app.domain.titration.units import Dose


class PlanType(StrEnum):
    ORAL_TITRATION = "oral_titration"
    ORAL_TAPER = "oral_taper"
    ITB_SCREENING = "itb_screening"
    ITB_TITRATION = "itb_titration"


class Indication(StrEnum):
    MULTIPLE_SCLEROSIS = "multiple_sclerosis"
    SPINAL_CORD_INJURY = "spinal_cord_injury"
    SPINAL_CORD_DISEASE = "spinal_cord_disease"
    CEREBRAL_PALSY = "cerebral_palsy"
    BRAIN_INJURY = "brain_injury"
    STROKE = "stroke"
    OTHER_SPINAL = "other_spinal"
    OTHER_CEREBRAL = "other_cerebral"
    RHEUMATIC_DISEASE = "rheumatic_disease"
    PARKINSONISM = "parkinsonism"
    PERIPHERAL_INJURY = "peripheral_injury"


# R-IND-1/2: origin follows from the indication; C-4..C-6: three indications are refused.
CEREBRAL_INDICATIONS = frozenset(
    {Indication.CEREBRAL_PALSY, Indication.BRAIN_INJURY, Indication.STROKE,
     Indication.OTHER_CEREBRAL}
)  # fmt: skip
NOT_INDICATED = frozenset(
    {Indication.RHEUMATIC_DISEASE, Indication.PARKINSONISM, Indication.PERIPHERAL_INJURY}
)

CONDITIONS = (
    "hypersensitivity", "epilepsy", "peptic_ulcer_active", "peptic_ulcer_history",
    "psychiatric_disorder", "suicide_risk", "cerebrovascular_disease", "respiratory_impairment",
    "hepatic_impairment", "diabetes", "autonomic_dysreflexia", "bladder_sphincter_hypertonia",
    "active_infection", "porphyria", "hypertension", "alcohol_use",
)  # fmt: skip


class Setting(StrEnum):
    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


class CreatinineUnit(StrEnum):
    MG_DL = "mg/dL"
    UMOL_L = "umol/L"


class Formulation(StrEnum):
    TABLET = "tablet"
    ORAL_SOLUTION = "oral_solution"


class TaperReason(StrEnum):
    """Why a taper is planned; it only changes the stop milestone's text (R-STOP-5, R-IT-T)."""

    GENERAL = "general"
    NO_BENEFIT = "no_benefit"
    PRE_DELIVERY = "pre_delivery"
    ITB_TRANSITION = "itb_transition"


@dataclass(frozen=True, slots=True)
class SerumCreatinine:
    value: Decimal
    unit: CreatinineUnit


@dataclass(frozen=True, slots=True)
class Patient:
    """Patient facts; ``birth_date`` or ``age_years`` is required (R-IN-1)."""

    sex: Sex
    birth_date: date | None = None
    age_years: Decimal | None = None
    weight_kg: Decimal | None = None
    height_cm: Decimal | None = None
    serum_creatinine: SerumCreatinine | None = None
    creatinine_clearance_ml_min: Decimal | None = None
    dialysis: bool = False
    conditions: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()
    pregnant: bool = False
    breastfeeding: bool = False
    spinal_injury_level: str | None = None
    brain_injury_date: date | None = None


@dataclass(frozen=True, slots=True)
class IntrathecalInput:
    """Intrathecal parameters; ``screening_responses`` records bolus outcomes in order."""

    effective_bolus: Dose | None = None
    effect_duration_hours: Decimal | None = None
    step_percent: Decimal | None = None
    days: int | None = None
    screening_responses: tuple[bool, ...] = ()


@dataclass(frozen=True, slots=True)
class Override:
    """A prescriber's override of one block finding, with a reason (A.5)."""

    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """Everything a plan is computed from; ``start_date`` is day 1 (the shell defaults it)."""

    plan_type: PlanType
    start_date: date
    indication: Indication
    patient: Patient
    setting: Setting = Setting.OUTPATIENT
    target_daily_dose: Dose | None = None
    current_daily_dose: Dose | None = None
    step_interval_days: int | None = None
    doses_per_day: int | None = None
    formulation: Formulation | None = None
    intrathecal: IntrathecalInput | None = None
    overrides: tuple[Override, ...] = ()
    taper_reason: TaperReason | None = None
    taper_min_days: int | None = None
