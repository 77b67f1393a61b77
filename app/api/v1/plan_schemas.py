"""JSON shapes of plan previews and stored plans (API.md §3–4).

Enums come straight from the dosing core, so OpenAPI lists exactly the values the engine
understands. Every dose is `{"value": <number>, "unit": "mg" | "mcg"}`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from app.api.v1.schemas import (
    ExactNumber,
    Flag,
    InputModel,
    IsoDate,
    OutputModel,
    PatientFields,
    Sex,
)
from app.domain.titration.findings import Route, Severity
from app.domain.titration.model import Formulation, Indication, PlanType, Setting, TaperReason
from app.domain.titration.plan import (
    MilestoneKind,
    PlanStatus,
    PreparationForm,
    RenalBand,
    RenalMethod,
    TimeOfDay,
    WeightBasis,
)
from app.domain.titration.units import DoseUnit
from app.services.plans import MAX_NOTE_LENGTH, MAX_REASON_LENGTH

NonNegative = Annotated[ExactNumber, Field(ge=0)]

# Request examples: shown to integrators in OpenAPI, and the valid starting points from which
# Schemathesis' examples and coverage phases build their variants (tests/fuzz).
PLAN_EXAMPLE: dict[str, Any] = {
    "plan_type": "oral_titration",
    "start_date": "2026-12-01",
    "indication": "multiple_sclerosis",
    "target_daily_dose": {"value": 60, "unit": "mg"},
    "acknowledged": ["opioid"],
}
PREVIEW_EXAMPLE: dict[str, Any] = {
    "plan_type": "oral_titration",
    "start_date": "2026-12-01",
    "indication": "multiple_sclerosis",
    "target_daily_dose": {"value": 60, "unit": "mg"},
    "patient": {
        "birth_date": "1981-05-02",
        "sex": "male",
        "weight_kg": 80,
        "height_cm": 180,
        "serum_creatinine": {"value": 0.9, "unit": "mg/dL"},
        "medications": ["amlodipine"],
    },
}
REFILL_EXAMPLE: dict[str, Any] = {
    "reservoir_ml": 20,
    "alarm_volume_ml": 2,
    "concentration_mcg_per_ml": 500,
    "daily_dose": {"value": 150, "unit": "mcg"},
    "fill_date": "2026-12-01",
    "max_refill_interval_days": 180,
}


class DoseIn(InputModel):
    value: NonNegative = Field(description="Exact amount, a JSON number.")
    unit: DoseUnit = Field(
        description="mg for oral plans, mcg for intrathecal plans; never converted."
    )


class PreviewPatient(PatientFields):
    sex: Sex  # required, as the engine needs it (the schema says so too)

    @model_validator(mode="after")
    def _needs_an_age(self) -> PreviewPatient:
        if self.birth_date is None and self.age_years is None:
            raise ValueError("give birth_date or age_years")
        return self


class IntrathecalIn(InputModel):
    effective_bolus: DoseIn | None = None
    effect_duration_hours: Annotated[ExactNumber, Field(gt=0, le=72)] | None = None
    step_percent: Annotated[ExactNumber, Field(gt=0, le=100)] | None = None
    days: int | None = Field(default=None, ge=1, le=90)
    screening_responses: list[Flag] = Field(
        default_factory=list,
        max_length=6,
        description="Outcome of each screening bolus so far, in order (true = positive at 4–8 h).",
    )


class OverrideIn(InputModel):
    code: str = Field(min_length=1, max_length=60)
    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)


class PlanInput(InputModel):
    """The body shared by previews and stored plans, without the patient."""

    plan_type: PlanType
    start_date: IsoDate | None = Field(
        default=None, description="Day 1 of the plan; today if omitted."
    )
    indication: Indication
    setting: Setting = Setting.OUTPATIENT
    target_daily_dose: DoseIn | None = None
    current_daily_dose: DoseIn | None = None
    step_interval_days: int | None = Field(default=None, ge=1, le=60)
    doses_per_day: int | None = Field(default=None, ge=1, le=6)
    formulation: Formulation | None = None
    intrathecal: IntrathecalIn | None = None
    overrides: list[OverrideIn] = Field(default_factory=list, max_length=20)
    taper_reason: TaperReason | None = Field(
        default=None, description="Why an oral taper is planned (changes only the stop text)."
    )
    taper_min_days: int | None = Field(
        default=None,
        ge=7,
        le=21,
        description="Shortest taper in days (oral_taper; default 14; below 14 blocks as "
        "`short_taper` until overridden with a reason).",
    )


class PlanPreviewRequest(PlanInput):
    model_config = ConfigDict(json_schema_extra={"examples": [PREVIEW_EXAMPLE]})

    patient: PreviewPatient


class DoseOut(OutputModel):
    value: ExactNumber
    unit: DoseUnit


class ConcentrationOut(OutputModel):
    value: ExactNumber
    unit: DoseUnit
    per: str = "mL"


class PreparationOut(OutputModel):
    form: PreparationForm
    tablet_strength: DoseOut | None = None
    tablets: ExactNumber | None = None
    concentration: ConcentrationOut | None = None
    volume_ml: ExactNumber | None = None


class AdministrationOut(OutputModel):
    time_of_day: TimeOfDay
    dose: DoseOut
    preparation: PreparationOut | None = None


class DispenseOut(OutputModel):
    form: PreparationForm
    quantity: ExactNumber
    quantity_unit: str
    tablet_strength: DoseOut | None = None
    concentration: ConcentrationOut | None = None


class StepOut(OutputModel):
    index: int
    start_day: int
    end_day: int
    start_date: date
    end_date: date
    daily_dose: DoseOut
    administrations: list[AdministrationOut]
    dispense: list[DispenseOut] = Field(default_factory=list)
    mg_per_kg_day: ExactNumber | None = Field(
        default=None, description="Children's steps: the daily dose per kg of body weight."
    )


class MilestoneOut(OutputModel):
    day: int
    date: date
    kind: MilestoneKind
    text: str


class FindingOut(OutputModel):
    code: str
    severity: Severity
    overridable: bool
    rule: str
    message: str
    source: str


class RenalOut(OutputModel):
    crcl_ml_min: ExactNumber | None
    band: RenalBand
    method: RenalMethod
    weight_basis: WeightBasis
    crcl_total_weight: ExactNumber | None = None
    crcl_ideal_weight: ExactNumber | None = None
    crcl_adjusted_weight: ExactNumber | None = None


class LimitsOut(OutputModel):
    max_daily_dose: DoseOut | None
    target_daily_dose: DoseOut | None


class ProtocolRefOut(OutputModel):
    id: str
    version: str
    sha256: str


class OverrideOut(OutputModel):
    code: str
    reason: str


class PlanOut(OutputModel):
    status: PlanStatus
    plan_type: PlanType
    route: Route
    unit: DoseUnit
    protocol: ProtocolRefOut
    protocols: list[ProtocolRefOut]
    engine_version: str
    renal: RenalOut
    limits: LimitsOut
    steps: list[StepOut]
    dispense: list[DispenseOut]
    milestones: list[MilestoneOut]
    findings: list[FindingOut]
    overrides: list[OverrideOut]


class PlanCreate(PlanInput):
    """A plan to store for the patient in the path; the patient's facts come from the record."""

    model_config = ConfigDict(json_schema_extra={"examples": [PLAN_EXAMPLE]})

    acknowledged: list[str] = Field(
        default_factory=list,
        max_length=40,
        description="Codes of every `major` finding, acknowledged by the prescriber.",
    )
    supersedes_plan_id: int | None = Field(
        default=None,
        ge=1,
        description="The patient's open plan of the same route that this plan follows (a taper "
        "after a titration, an intrathecal titration after its screening); it ends as "
        "`completed`. Without it, a second open plan of a route is refused (409).",
    )


class PlanRevision(PlanCreate):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**PLAN_EXAMPLE, "reason": "Slower steps: drowsy."}]}
    )

    supersedes_plan_id: None = Field(default=None, description="Only for new plans.")

    reason: str = Field(
        min_length=1, max_length=MAX_REASON_LENGTH, description="Why the plan is revised."
    )


class StateChange(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "Admitted to hospital."}]})

    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)


class ReviewCreate(InputModel):
    """A pharmacist's review of the plan's current version (named by `If-Match`)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"acknowledged": ["opioid"], "note": "Doses checked."}]}
    )

    acknowledged: list[Annotated[str, Field(max_length=60)]] = Field(
        default_factory=list,
        max_length=40,
        description="Codes of every finding of the version that is not `info`.",
    )
    note: str = Field(
        default="", max_length=MAX_NOTE_LENGTH, description="What the reviewer checked."
    )
    outcome: Literal["approved", "query", "rejected"] = Field(
        default="approved", description="A query or a rejection says why in `note`."
    )


class ReviewOut(OutputModel):
    id: int
    plan_id: int
    version: int = Field(description="The plan version reviewed.")
    acknowledged: list[str]
    note: str | None
    outcome: str = Field(description="approved, query or rejected")
    reviewed_by: str
    reviewed_by_kind: str = Field(
        description="user, or client (an API token): a client's name is not a person's."
    )
    reviewed_at: datetime


class StoredPlanOut(PlanOut):
    """One saved version of a plan, with who saved it, when and why."""

    id: int = Field(description="The plan's id (stable across versions).")
    patient_id: int
    state: str = Field(description="active, on_hold, completed or discontinued.")
    supersedes_plan_id: int | None = Field(
        default=None, description="The plan this one followed (which it completed)."
    )
    state_reason: str | None
    version: int
    superseded: bool = Field(description="True for every version but the current one.")
    action: str = Field(description="create or revise")
    reason: str | None
    acknowledged: list[str]
    content_sha256: str
    created_by: str
    created_by_kind: str = Field(
        description="user, or client (an API token): a client's name is not a person's."
    )
    created_at: datetime


class RefillRequest(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [REFILL_EXAMPLE]})

    reservoir_ml: Annotated[ExactNumber, Field(gt=0, le=100)]
    alarm_volume_ml: Annotated[ExactNumber, Field(ge=0, le=100)] | None = Field(
        default=None, description="From the pump's programming; without it no date is given."
    )
    concentration_mcg_per_ml: Annotated[ExactNumber, Field(gt=0, le=5000)] = Field(
        description="50–2000 mcg/mL (R-IT-F1); outside it the answer is a 422 "
        "`concentration_out_of_range`, below 500 a `diluted_concentration` finding."
    )
    daily_dose: DoseIn
    fill_date: IsoDate
    max_refill_interval_days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description="From the drug and device labelling; without it the answer is a 422 "
        "`refill_interval_missing` (A.6.8).",
    )


def _to_4_places(value: object) -> object:
    # The calculator divides exactly (150 mcg ÷ 4999 mcg/mL has 28 digits); the API promises
    # at most 4 decimal places. Its dates come from the exact value, so they never move.
    return value.quantize(Decimal("0.0001")) if isinstance(value, Decimal) else value


FourPlaces = Annotated[ExactNumber, BeforeValidator(_to_4_places)]


class RefillOut(OutputModel):
    daily_volume_ml: FourPlaces = Field(description="mL per day, to 4 decimal places.")
    days_to_alarm: FourPlaces = Field(description="Days, to 4 decimal places.")
    alarm_date: date
    refill_due_date: date
    limited_by_max_interval: bool
    window_start: date
    window_end: date
    findings: list[FindingOut] = Field(
        default_factory=list,
        description="refill_due_within_buffer (major), diluted_concentration (info).",
    )
