"""What a pharmacist's edit of a protocol may change (issue 17).

Two kinds of bound, both checked on a parsed ``Protocol`` before a draft is stored:

- ``ALLOWED_RANGES``: the "Allowed" column of CLINICAL_RULES §11, where it gives one.
- ``HARD_LIMITS``: the label maxima and A.6's ceilings. They live here, in code, so that no
  protocol edit can pass them: an oral outpatient cap (or a target a cap must hold) above
  80 mg/day, an intrathecal ceiling above 2000 mcg/day, a taper cut above 50 %.

Each bound names its source; a value outside one is refused with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from app.domain.titration.protocol import Protocol


@dataclass(frozen=True, slots=True)
class Bound:
    """Inclusive limits for one parameter; ``None`` leaves that side open."""

    low: Decimal | None
    high: Decimal | None
    source: str


@dataclass(frozen=True, slots=True)
class LimitProblem:
    """One parameter outside its bound: the parameter's name and why it is refused."""

    parameter: str
    message: str


def _bound(low: str | None, high: str | None, source: str) -> Bound:
    return Bound(
        None if low is None else Decimal(low), None if high is None else Decimal(high), source
    )


_S11: Final = "CLINICAL_RULES §11"
_ORAL_LABEL: Final = "R-OA-5 [US-TAB]: 80 mg/day is the label's outpatient maximum"
_ITB_CEILING: Final = "A.6: 2000 mcg/day is the intrathecal hard ceiling"
_PUMP_DRUG: Final = "A.6.8; R-IT-F1: pump concentrations are 50–2000 mcg/mL"
_RESERVOIR: Final = "A.6.8 (device manuals): reservoirs of 10–50 mL"

ALLOWED_RANGES: Final[dict[str, dict[str, Bound]]] = {
    "oral-adult": {
        "start_mg_day": _bound("5", "15", f"{_S11} adult_start_mg_day 5–15"),
        "step_mg_day": _bound("5", "15", f"{_S11} adult_step_mg_day 5–15"),
        "interval_days": _bound("3", None, f"{_S11} adult interval_days ≥ 3"),
        "cap_inpatient_mg_day": _bound("100", "120", f"{_S11} adult_cap_inpatient_mg_day 100–120"),
        "soft_alert_mg_day": _bound("60", "75", f"{_S11} adult_soft_alert_mg_day 60–75"),
    },
    "oral-older-adult": {
        "start_mg_day": _bound("5", "10", f"{_S11} elderly_start 5–10 mg/day"),
        "step_mg_day": _bound("5", "5", f"{_S11} elderly_step 5 mg/day"),
        "interval_days": _bound("3", "7", f"{_S11} elderly_interval 3–7 days"),
    },
    "oral-paediatric": {
        "step_mg_kg_day": _bound("0.1", "0.5", f"{_S11} ped_step_mg_kg_day 0.1–0.5"),
        "interval_days": _bound("3", "7", f"{_S11} ped interval 3–7 days"),
    },
    "oral-taper": {
        "min_total_days": _bound("7", "21", f"{_S11} taper_min_days 7–21"),
    },
    "itb": {
        "spinal_step_percent_max": _bound(None, "30", f"{_S11} itb_step_pct spinal up to 30"),
        "cerebral_step_percent_max": _bound(None, "15", f"{_S11} itb_step_pct cerebral up to 15"),
        "refill_buffer_min_days": _bound("3", "5", f"{_S11} refill_buffer_days 3–5 [GIL]"),
        "refill_buffer_max_days": _bound("3", "5", f"{_S11} refill_buffer_days 3–5 [GIL]"),
    },
}

_RENAL_BANDS: Final = ("mild", "moderate", "severe", "dialysis")

HARD_LIMITS: Final[dict[str, dict[str, Bound]]] = {
    "oral-adult": {
        "cap_outpatient_mg_day": _bound(None, "80", _ORAL_LABEL),
        "target_mg_day": _bound(None, "80", _ORAL_LABEL),
    },
    "oral-older-adult": {
        "cap_mg_day": _bound(None, "80", _ORAL_LABEL),
        "target_mg_day": _bound(None, "80", _ORAL_LABEL),
    },
    "oral-renal": {
        f"{band}_{part}_mg_day": _bound(None, "80", _ORAL_LABEL)
        for band in _RENAL_BANDS
        for part in ("target", "cap")
    },
    "oral-paediatric": {
        "cap_below_boundary_mg_day": _bound(None, "80", _ORAL_LABEL),
        "cap_from_boundary_mg_day": _bound(None, "80", _ORAL_LABEL),
    },
    "oral-taper": {
        "step_fraction": _bound(
            None, "0.5", "A.2; R-STOP-4: no taper step may cut more than 50 % of the start dose"
        ),
    },
    # List parameters: every stocked value; pump_models: every model's reservoir.
    "formulary": {
        "intrathecal_pump_mcg_per_ml": _bound("50", "2000", _PUMP_DRUG),
        "pump_models": _bound("10", "50", _RESERVOIR),
    },
    "itb": {
        "ceiling_mcg_day": _bound(None, "2000", _ITB_CEILING),
        "hard_limit_mcg_day": _bound(None, "2000", _ITB_CEILING),
        "high_dose_mcg_day": _bound(None, "2000", _ITB_CEILING),
    },
}


def limit_problems(protocol: Protocol) -> tuple[LimitProblem, ...]:
    """Every parameter of ``protocol`` above a hard limit or outside its allowed range.

    A hard limit is reported in preference to the allowed range of the same parameter.
    """
    numbers: list[tuple[str, Decimal]] = [
        *protocol.decimals.items(),
        *((name, Decimal(value)) for name, value in protocol.integers.items()),
        *((name, value) for name, values in protocol.decimal_lists.items() for value in values),
        *((name, pump.reservoir_ml) for name, pumps in protocol.pumps.items() for pump in pumps),
    ]
    hard = HARD_LIMITS.get(protocol.ref.id, {})
    allowed = ALLOWED_RANGES.get(protocol.ref.id, {})
    problems: dict[str, LimitProblem] = {}  # the first value out of bounds per parameter
    for name, value in numbers:
        if name in problems:
            continue
        if name in hard and _outside(value, hard[name]):
            problems[name] = LimitProblem(name, _message("the hard limit", value, hard[name]))
        elif name in allowed and _outside(value, allowed[name]):
            problems[name] = LimitProblem(name, _message("the allowed range", value, allowed[name]))
    return tuple(problems.values())


def _outside(value: Decimal, bound: Bound) -> bool:
    return (bound.low is not None and value < bound.low) or (
        bound.high is not None and value > bound.high
    )


def _message(what: str, value: Decimal, bound: Bound) -> str:
    if bound.low is None:
        limits = f"at most {bound.high}"
    elif bound.high is None:
        limits = f"at least {bound.low}"
    else:
        limits = f"{bound.low} to {bound.high}"
    return f"{value} is outside {what} ({limits}; {bound.source})"
