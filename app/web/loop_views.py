"""What the plan page shows of the titration loop: observation markers on the dose chart,
the pump form's defaults and the formulary's pumps, and the links that start a follow-on
plan with every field."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from app.db.models import PlanRecord, PlanVersionRecord, PumpRefillRecord
from app.domain.titration.follow_up import MAS_SCORES as MAS_SCORES
from app.domain.titration.follow_up import AdverseEffect
from app.domain.titration.protocol import Protocol
from app.printing.i18n import N_
from app.services.observations import ObservationView
from app.web.plan_chart import ObservationPoint, build_chart
from app.web.plan_views import DiffRow, PlanView, format_dose
from app.web.templating import format_decimal

# Labels of the adverse-effect codes (translated when the page renders); benefit words too.
_EFFECT_LABELS = {
    "drowsiness": N_("drowsiness"), "dizziness": N_("dizziness"), "weakness": N_("weakness"),
    "confusion": N_("confusion"), "nausea": N_("nausea"), "hypotension": N_("hypotension"),
    "seizure": N_("seizure"), "withdrawal_signs": N_("withdrawal signs"), "other": N_("other"),
}  # fmt: skip
OUTCOME_LABELS = {"approved": N_("approved"), "query": N_("query"), "rejected": N_("rejected")}
BENEFIT_LABELS = {"none": N_("none"), "some": N_("some"), "clear": N_("clear")}
ADVERSE_EFFECTS = tuple((e.value, _EFFECT_LABELS[e.value]) for e in AdverseEffect)


def view_is_itb(record: PlanRecord) -> bool:
    return record.unit == "mcg"


def with_observation_markers(
    view: PlanView, version: PlanVersionRecord, observations: list[ObservationView]
) -> PlanView:
    """The plan view with one marker per observation on its dose chart."""
    if view.chart is None or not observations:
        return view
    points = [
        ObservationPoint(
            o.record.observed_on,
            f"{o.record.observed_on.isoformat()}: "
            f"{', '.join(o.record.adverse_effects) or 'no adverse effect'}; "
            f"suggestion {o.suggestion.kind.value.replace('_', ' ')}",
            bool(o.record.adverse_effects),
        )
        for o in observations
    ]
    chart = build_chart(json.loads(version.plan_json), points, start_dose=view.chart.start_dose)
    return replace(view, chart=chart)


@dataclass(frozen=True, slots=True)
class PumpStock:
    """The formulary's pumps and pump concentrations, as the pump forms offer them: each
    choice's value is the figure the field takes (a pump model fills in its reservoir)."""

    reservoirs: tuple[tuple[str, str], ...]
    concentrations: tuple[tuple[str, str], ...]


def pump_stock(formulary: Protocol) -> PumpStock:
    return PumpStock(
        reservoirs=tuple(
            (format_decimal(pump.reservoir_ml), pump.label)
            for pump in formulary.pumps["pump_models"]
        ),
        concentrations=tuple(
            (format_decimal(value), f"{format_decimal(value)} mcg/mL")
            for value in formulary.decimal_lists["intrathecal_pump_mcg_per_ml"]
        ),
    )


def pump_defaults(refills: list[PumpRefillRecord], today: date) -> dict[str, str]:
    """The refill form starts from the last refill's figures (same pump, same drug)."""
    values = {"filled_on": today.isoformat()}
    if refills:
        last = refills[0]
        values |= {
            "reservoir_ml": format_decimal(last.reservoir_ml),
            "alarm_volume_ml": format_decimal(last.alarm_volume_ml),
            "concentration_mcg_per_ml": format_decimal(last.concentration_mcg_per_ml),
            "max_refill_interval_days": str(last.max_refill_interval_days),
        }
    return values


def taper_link(
    record: PlanRecord, version: PlanVersionRecord, current_dose: dict[str, str] | None
) -> str:
    """Query string of "start an oral taper" from an oral titration: every field the taper
    shares with it (indication, setting, formulation), today's dose, and the plan it
    follows (completed when the taper is saved)."""
    if record.plan_type != "oral_titration" or current_dose is None:
        return ""
    given: dict[str, Any] = json.loads(version.input_json)
    query = {
        "plan_type": "oral_taper", "indication": given.get("indication") or "",
        "setting": given.get("setting") or "", "formulation": given.get("formulation") or "",
        "current_daily_dose": current_dose["value"],
    }  # fmt: skip
    if record.state in ("active", "on_hold"):
        query["supersedes_plan_id"] = str(record.id)
    return urlencode({k: v for k, v in query.items() if v})


def supersedes(raw: object) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None


def from_change_date(a: PlanView, b: PlanView) -> list[tuple[str, list[DiffRow]]]:
    """When the newer version starts later ("continue from today"), old and new daily dose
    on each date from its start on, where either changes. Empty otherwise."""
    if not (a.daily_doses and b.daily_doses) or b.daily_doses[0][0] <= a.daily_doses[0][0]:
        return []
    change = b.daily_doses[0][0]
    starts = sorted(
        {change} | {start for start, _, _ in (*a.daily_doses, *b.daily_doses) if start > change}
    )
    a_end = a.daily_doses[-1][1]
    rows = []
    for day in starts:
        old = a.dose_on(day) if day <= a_end else None
        new = b.dose_on(day)
        rows.append(
            DiffRow(
                f"from {day.isoformat()}",
                format_dose(old, per_day=True) if old else "—",
                format_dose(new, per_day=True) if new else "—",
            )
        )
    return [(f"Daily dose from the change date ({change.isoformat()})", rows)]
