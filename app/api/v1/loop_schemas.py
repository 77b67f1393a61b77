"""JSON shapes of the titration loop (API.md §5.2): observations and their suggestions,
the worklist, and the pump's recorded refills."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictInt

from app.api.v1.plan_schemas import DoseOut
from app.api.v1.schemas import ExactNumber, InputModel, IsoDate, OutputModel
from app.domain.titration.follow_up import AdverseEffect, Benefit, SuggestionKind
from app.services.plans import MAX_NOTE_LENGTH

MasScore = Literal["0", "1", "1+", "2", "3", "4"]
WorkKind = Literal[
    "review_due", "refill_due", "awaiting_review", "on_hold", "stop_due", "protocol_updated"
]

OBSERVATION_EXAMPLE: dict[str, Any] = {
    "observed_on": "2026-12-05",
    "spasticity": {"scale": "mas", "score": "1+"},
    "spasm_frequency": 2,
    "adverse_effects": ["drowsiness"],
    "benefit": "some",
    "note": "Drowsy in the afternoons since the last step.",
}
REFILL_RECORD_EXAMPLE: dict[str, Any] = {
    "filled_on": "2026-12-05",
    "reservoir_ml": 20,
    "alarm_volume_ml": 2,
    "concentration_mcg_per_ml": 500,
    "max_refill_interval_days": 180,
}


class Spasticity(InputModel):
    scale: Literal["mas"] = Field(description="Modified Ashworth Scale.")
    score: MasScore


class SpasticityOut(OutputModel):
    scale: Literal["mas"]
    score: MasScore


class ObservationCreate(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [OBSERVATION_EXAMPLE]})

    observed_on: IsoDate = Field(description="The day of the follow-up (not in the future).")
    spasticity: Spasticity | None = None
    spasm_frequency: StrictInt | None = Field(default=None, ge=0, le=4, description="Penn, 0–4.")
    adverse_effects: list[AdverseEffect] = Field(default_factory=list, max_length=9)
    benefit: Benefit | None = None
    note: str = Field(default="", max_length=MAX_NOTE_LENGTH)


class SuggestionOut(OutputModel):
    kind: SuggestionKind
    rule: str = Field(description="The follow-up rule behind it (protocols/follow-up.json).")
    text: str
    source: str


class DecisionOut(OutputModel):
    action: SuggestionKind
    plan_id: int = Field(description="The plan the step changed or made.")
    version: int
    decided_by: str
    decided_at: datetime


class ObservationOut(OutputModel):
    id: int
    plan_id: int
    version: int = Field(description="The plan version current when it was recorded.")
    observed_on: date
    spasticity: SpasticityOut | None
    spasm_frequency: int | None
    adverse_effects: list[AdverseEffect]
    benefit: Benefit | None
    note: str | None
    suggestion: SuggestionOut
    decision: DecisionOut | None = Field(
        description="The step taken on the suggestion, once one was taken."
    )
    recorded_by: str
    recorded_at: datetime


class WorkItemOut(OutputModel):
    kind: WorkKind
    due_date: date
    patient_id: int
    plan_id: int
    text: str


class RefillRecordCreate(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [REFILL_RECORD_EXAMPLE]})

    filled_on: IsoDate
    reservoir_ml: Annotated[ExactNumber, Field(gt=0, le=100)]
    alarm_volume_ml: Annotated[ExactNumber, Field(ge=0, le=100)] = Field(
        description="The pump's low-reservoir alarm volume, from its programming."
    )
    concentration_mcg_per_ml: Annotated[ExactNumber, Field(gt=0, le=5000)]
    max_refill_interval_days: StrictInt = Field(ge=1, le=365, description="From the labelling.")


class RefillWindowOut(OutputModel):
    start: date
    end: date


class PumpRefillOut(OutputModel):
    id: int
    plan_id: int
    version: int = Field(description="The plan version whose daily doses the dates follow.")
    filled_on: date
    reservoir_ml: ExactNumber
    alarm_volume_ml: ExactNumber
    concentration_mcg_per_ml: ExactNumber
    max_refill_interval_days: int
    daily_dose: DoseOut = Field(description="The plan's daily dose on the fill date.")
    alarm_date: date
    refill_due_date: date
    refill_window: RefillWindowOut
    recorded_by: str
    recorded_at: datetime
