"""Planner form: raw strings in, an engine PlanRequest (or field messages) out.

The unit of every dose field is fixed by the plan type (mg oral, mcg intrathecal); the form
never offers a unit toggle and never converts (RELIABILITY M3).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import TypeVar

from app.domain import titration
from app.domain.titration import (
    Dose,
    DoseUnit,
    Formulation,
    Indication,
    IntrathecalInput,
    Override,
    OverrideNotApplicableError,
    Patient,
    Plan,
    PlanRequest,
    PlanType,
    ProtocolSet,
    Setting,
    Severity,
    TaperReason,
    TitrationError,
)
from app.services import plans as plan_service
from app.web.forms import parse_decimal
from app.web.plan_views import PlanView, view_of_plan

TEXT_FIELDS = (
    "plan_type", "indication", "setting", "start_date", "target_daily_dose",
    "current_daily_dose", "formulation", "step_interval_days", "doses_per_day", "taper_reason",
    "taper_min_days", "itb_effective_bolus", "itb_effect_duration_hours", "itb_step_percent",
    "itb_days",
    "screening_1", "screening_2", "screening_3", "screening_4", "reason",
)  # fmt: skip
OVERRIDE_PREFIX = "override__"
_E = TypeVar("_E", Indication, Setting, Formulation, TaperReason)
SCREENING_FIELDS = ("screening_1", "screening_2", "screening_3", "screening_4")
ITB_TYPES = frozenset({PlanType.ITB_SCREENING, PlanType.ITB_TITRATION})


def unit_for(plan_type: str) -> DoseUnit:
    """mg for oral plans, mcg for intrathecal ones: the plan type decides, the user cannot."""
    return DoseUnit.MCG if plan_type in ITB_TYPES else DoseUnit.MG


@dataclass
class TypedFields:
    """Form values as typed, plus the parsers that turn them into numbers and dates.

    Each parser returns None for an empty field and records a message in `errors` for a
    value that does not parse, so one pass shows every problem next to its field.
    """

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def _decimal(self, name: str) -> Decimal | None:
        try:
            value = parse_decimal(self.values[name])
        except ValueError:
            value = Decimal(-1)
        if value is not None and not Decimal(0) <= value <= Decimal(100_000):
            self.errors[name] = "Enter a number, e.g. 30 or 2.5."
            return None
        return value

    def _int(self, name: str) -> int | None:
        raw = self.values[name]
        if not raw:
            return None
        if not raw.isdigit() or not 0 < int(raw) <= 365:
            self.errors[name] = "Enter a whole number, e.g. 3."
            return None
        return int(raw)

    def _date(self, name: str) -> date | None:
        try:
            return date.fromisoformat(self.values[name])
        except ValueError:
            self.errors[name] = "Enter a date as YYYY-MM-DD."
            return None


@dataclass
class PlanForm(TypedFields):
    """What the prescriber typed, kept verbatim so a re-rendered form loses nothing."""

    overrides: dict[str, str] = field(default_factory=dict)
    acknowledged: list[str] = field(default_factory=list)

    @classmethod
    def from_form(cls, form: Mapping[str, str], acknowledged: list[str]) -> PlanForm:
        values = {name: str(form.get(name, "")).strip() for name in TEXT_FIELDS}
        if values["plan_type"] not in set(PlanType):
            values["plan_type"] = PlanType.ORAL_TITRATION.value
        values["setting"] = values["setting"] or Setting.OUTPATIENT.value
        values["start_date"] = values["start_date"] or date.today().isoformat()
        overrides = {
            key.removeprefix(OVERRIDE_PREFIX): str(value).strip()
            for key, value in form.items()
            if key.startswith(OVERRIDE_PREFIX) and str(value).strip()
        }
        return cls(values, overrides=overrides, acknowledged=list(dict.fromkeys(acknowledged)))

    @classmethod
    def from_stored(cls, input_json: str, acknowledged: list[str]) -> PlanForm:
        """Prefill a revision from a stored version's canonical input JSON."""
        data = json.loads(input_json)
        itb = data.get("intrathecal") or {}
        responses = list(itb.get("screening_responses") or [])
        values = {
            "plan_type": data["plan_type"], "indication": data["indication"],
            "setting": data.get("setting") or "", "start_date": data["start_date"],
            "target_daily_dose": _dose_text(data.get("target_daily_dose")),
            "current_daily_dose": _dose_text(data.get("current_daily_dose")),
            "formulation": data.get("formulation") or "",
            "step_interval_days": _text(data.get("step_interval_days")),
            "doses_per_day": _text(data.get("doses_per_day")),
            "taper_reason": data.get("taper_reason") or "",
            "taper_min_days": _text(data.get("taper_min_days")),
            "itb_effective_bolus": _dose_text(itb.get("effective_bolus")),
            "itb_effect_duration_hours": _text(itb.get("effect_duration_hours")),
            "itb_step_percent": _text(itb.get("step_percent")),
            "itb_days": _text(itb.get("days")),
        }  # fmt: skip
        for name, response in zip(SCREENING_FIELDS, responses, strict=False):
            values[name] = "positive" if response else "negative"
        form = cls.from_form(values, acknowledged)
        form.overrides = {o["code"]: o["reason"] for o in data.get("overrides") or []}
        return form

    @property
    def unit(self) -> str:
        return unit_for(self.values["plan_type"]).value

    @property
    def is_itb(self) -> bool:
        return self.values["plan_type"] in ITB_TYPES

    def to_request(self, patient: Patient) -> PlanRequest | None:
        """The engine request, or None with `errors` filled when a value does not parse."""
        v = self.values
        plan_type = PlanType(v["plan_type"])
        indication = self._choice("indication", Indication, required=True)
        start = self._date("start_date")
        kwargs = {
            "setting": self._choice("setting", Setting) or Setting.OUTPATIENT,
            "target_daily_dose": self._dose("target_daily_dose"),
            "current_daily_dose": self._dose("current_daily_dose"),
            "step_interval_days": self._int("step_interval_days"),
            "doses_per_day": self._int("doses_per_day"),
            "formulation": self._choice("formulation", Formulation),
            "taper_reason": self._choice("taper_reason", TaperReason),
            "taper_min_days": (
                self._int("taper_min_days") if plan_type is PlanType.ORAL_TAPER else None
            ),
            "intrathecal": self._intrathecal() if plan_type in ITB_TYPES else None,
        }
        if self.errors or indication is None or start is None:
            return None
        overrides = tuple(Override(code, reason) for code, reason in self.overrides.items())
        return PlanRequest(
            plan_type=plan_type,
            start_date=start,
            indication=indication,
            patient=patient,
            overrides=overrides,
            **kwargs,  # type: ignore[arg-type]
        )

    def _intrathecal(self) -> IntrathecalInput:
        responses: list[bool] = []
        for name in SCREENING_FIELDS:
            if self.values[name] not in ("positive", "negative"):
                break  # responses are recorded in order; the first gap ends the list
            responses.append(self.values[name] == "positive")
        return IntrathecalInput(
            effective_bolus=self._dose("itb_effective_bolus"),
            effect_duration_hours=self._decimal("itb_effect_duration_hours"),
            step_percent=self._decimal("itb_step_percent"),
            days=self._int("itb_days"),
            screening_responses=tuple(responses),
        )

    def _dose(self, name: str) -> Dose | None:
        value = self._decimal(name)
        return None if value is None else Dose(value, unit_for(self.values["plan_type"]))

    def _choice(self, name: str, kind: type[_E], *, required: bool = False) -> _E | None:
        raw = self.values[name]
        if not raw:
            if required:
                self.errors[name] = "Choose one."
            return None
        try:
            return kind(raw)
        except ValueError:
            self.errors[name] = "Choose one of the listed values."
            return None


def plan_with_applicable_overrides(
    request: PlanRequest, protocols: ProtocolSet
) -> tuple[PlanRequest, Plan]:
    """Build the plan, dropping overrides of blocks this plan no longer has.

    A reason typed for a block that a later change removed would otherwise make the engine
    refuse the whole plan; dropping it is safe because an override can only lift a block.
    The engine runs once on the usual path (every keystroke of the live preview); only
    when an override no longer applies does it run again to find the remaining blocks.
    """
    try:
        return request, plan_service.preview_plan(protocols, request)
    except OverrideNotApplicableError:
        bare = plan_service.preview_plan(protocols, replace(request, overrides=()))
    blocks = {f.code for f in bare.findings if f.severity is Severity.BLOCK and f.overridable}
    kept = replace(request, overrides=tuple(o for o in request.overrides if o.code in blocks))
    return kept, plan_service.preview_plan(protocols, kept)


def _dose_text(dose: dict[str, str] | None) -> str:
    return "" if not dose else _text(dose["value"])


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and "." in value:
        return value.rstrip("0").rstrip(".")
    return str(value)


@dataclass(frozen=True)
class Preview:
    """The computed plan as a view, or why there is none (shown in the preview area)."""

    view: PlanView | None = None
    error: str | None = None


def compute_preview(form: PlanForm, patient: Patient, protocols: ProtocolSet) -> Preview:
    """Form → engine → view. Engine refusals (hard cap, wrong unit) become a message."""
    return preview_for(form.to_request(patient), protocols)


def preview_for(request: PlanRequest | None, protocols: ProtocolSet) -> Preview:
    """The preview of a form's engine request (None: a field did not parse)."""
    if request is None:
        return Preview(error="Correct the highlighted fields to see the schedule.")
    try:
        _, plan = plan_with_applicable_overrides(request, protocols)
    except TitrationError as exc:
        return Preview(error=exc.message)
    taper_from = request.current_daily_dose if plan.plan_type == PlanType.ORAL_TAPER else None
    return Preview(view=view_of_plan(plan, start_dose=taper_from.value if taper_from else None))


REFILL_FIELDS = (
    "reservoir_ml", "alarm_volume_ml", "concentration_mcg_per_ml", "daily_dose",
    "fill_date", "max_refill_interval_days",
)  # fmt: skip


@dataclass
class RefillForm(TypedFields):
    """Pump refill calculator inputs (mL, mcg/mL, mcg/day), as typed."""

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> RefillForm:
        return cls({name: str(form.get(name, "")).strip() for name in REFILL_FIELDS})

    def calculate(self, protocols: ProtocolSet) -> titration.RefillPlan | str:
        """The refill plan, or a message (no alarm volume: no date is guessed)."""
        self.errors = {}
        numbers = {n: self._decimal(n) for n in REFILL_FIELDS[:4]}
        interval = self._int("max_refill_interval_days")
        fill = self._date("fill_date")
        reservoir, alarm = numbers["reservoir_ml"], numbers["alarm_volume_ml"]
        concentration, dose = numbers["concentration_mcg_per_ml"], numbers["daily_dose"]
        for name, value in (("reservoir_ml", reservoir), ("concentration_mcg_per_ml",
                            concentration), ("daily_dose", dose)):  # fmt: skip
            if value is None:
                self.errors.setdefault(name, "Required.")
        if (
            self.errors
            or fill is None
            or reservoir is None
            or concentration is None
            or dose is None
        ):
            return "Correct the highlighted fields."
        try:
            return titration.calculate_refill(
                reservoir_ml=reservoir, alarm_volume_ml=alarm,
                concentration_mcg_per_ml=concentration, daily_dose=Dose(dose, DoseUnit.MCG),
                fill_date=fill, max_refill_interval_days=interval, protocols=protocols,
            )  # fmt: skip
        except TitrationError as exc:
            if exc.field in REFILL_FIELDS:
                self.errors[exc.field] = exc.message
            return exc.message
