"""Request and answer models of the protocol routes (API.md §5.6)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from app.api.v1.schemas import InputModel, IsoDate, OutputModel

_Value = Annotated[str, Field(min_length=1, max_length=40)]

DRAFT_EXAMPLE: dict[str, Any] = {
    "parameters": {
        "interval_days": {"value": "7", "source": "Clinic guideline 2026-04: weekly steps"}
    },
    "reason": "Weekly steps for our older patients.",
}


class PumpModelIn(InputModel):
    model: str = Field(min_length=1, max_length=60, description="The pump's model name.")
    reservoir_ml: _Value = Field(description="Its reservoir volume in mL (10–50, A.6.8).")


class ParameterValueIn(InputModel):
    # One list type whose items are either kind: two list types in one union cannot be told
    # apart by generated clients (openapi-python-client's model then fails mypy); the protocol
    # loader refuses an item of the wrong kind for its parameter (422 naming it).
    value: _Value | Annotated[list[_Value | PumpModelIn], Field(max_length=50)] = Field(
        description="Decimals as strings (exact); a list for list parameters (empty when a "
        "formulary list stocks nothing); objects with model and reservoir_ml for pump_models."
    )
    source: str = Field(min_length=1, max_length=500, description="Where the value comes from.")


class ProtocolDraftIn(InputModel):
    parameters: dict[Annotated[str, Field(max_length=64)], ParameterValueIn] = Field(
        min_length=1,
        max_length=100,
        description="The parameters that change, each with its source.",
    )
    reason: str | None = Field(default=None, max_length=2000)
    model_config = ConfigDict(json_schema_extra={"examples": [DRAFT_EXAMPLE]})


class ApprovalIn(InputModel):
    effective_from: IsoDate = Field(description="The first day the version is in force (not past).")


class ProtocolOut(OutputModel):
    id: str
    title: str
    version: int | None
    sha256: str | None = Field(description="The same fingerprint the engine reports in plans.")
    effective_from: date | None


class ProtocolVersionOut(OutputModel):
    protocol_id: str
    version: int
    status: Literal["draft", "approved", "superseded"]
    sha256: str
    parameters: dict[str, Any] = Field(description="Each parameter with value, unit and source.")
    drafted_by: str
    drafted_at: datetime
    reason: str | None
    approved_by: str | None
    approved_at: datetime | None
    effective_from: date | None


class DoseOut(OutputModel):
    value: str = Field(description="Exact decimal as a string.")
    unit: Literal["mg", "mcg"]


class FirstDifferenceOut(OutputModel):
    differs_on: date = Field(description="The first day the schedule would differ.")
    change: Literal["dose", "timing", "preparation"] = Field(
        description="dose: the daily dose (or the plan starts or ends on another day); "
        "timing: the same daily dose divided otherwise; preparation: other tablets or volumes."
    )
    step: int | None = Field(description="The recomputed plan's step on that day (None: none).")
    step_start_date: date | None
    old_dose: DoseOut | None = Field(description="The stored version's daily dose that day.")
    new_dose: DoseOut | None = Field(description="The recomputed daily dose that day.")


class ChangedPlanOut(OutputModel):
    plan_id: int
    patient_id: int
    version: int = Field(description="The plan's current version, the one compared.")
    status: Literal["ready", "blocked"] = Field(description="The recomputed plan's status.")
    first_difference: FirstDifferenceOut


class FailedPlanOut(OutputModel):
    plan_id: int
    patient_id: int
    version: int
    reason: str


class ImpactCountsOut(OutputModel):
    checked: int
    changed: int
    unchanged: int
    failed: int


class ImpactOut(OutputModel):
    protocol_id: str
    version: int
    status: Literal["draft", "approved", "superseded"]
    since: date = Field(description="Schedules are compared from this day on.")
    counts: ImpactCountsOut
    changed: list[ChangedPlanOut]
    failed: list[FailedPlanOut] = Field(description="Plans the engine could not recompute.")
