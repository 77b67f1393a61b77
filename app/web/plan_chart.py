"""The dose-over-time chart as numbers for a server-rendered SVG (no chart JavaScript).

The template draws a step line (the daily dose per day of the plan) and, when there is one,
a dashed line at the daily cap, and a marker on the line for each follow-up observation
(filled red with an adverse effect, hollow otherwise). Coordinates are plain numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from app.web.templating import format_decimal

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40
_NICE = (1, 2, 2.5, 5, 10)


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    label: str
    adverse: bool


@dataclass(frozen=True)
class ObservationPoint:
    """An observation to mark: its date, a short label and whether it names adverse effects."""

    observed_on: date
    label: str
    adverse: bool


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    right_x: float
    bottom_y: float
    path: str
    cap_y: float | None
    cap_label: str
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    unit: str
    summary: str
    markers: tuple[Marker, ...] = ()


def build_chart(plain: dict[str, Any], observations: Sequence[ObservationPoint] = ()) -> Chart:
    steps = plain["steps"]
    unit = plain["unit"]
    last_day = max(int(s["end_day"]) for s in steps)
    doses = [Decimal(s["daily_dose"]["value"]) for s in steps]
    cap = plain["limits"]["max_daily_dose"]
    cap_value = Decimal(cap["value"]) if cap else None
    top_value = max([*doses, cap_value or Decimal(0), Decimal(1)])
    tick = _nice_step(top_value / 4)
    y_max = tick * ((top_value / tick).to_integral_value(rounding="ROUND_CEILING"))
    if y_max == top_value:
        y_max += tick

    def x(day: float) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * day / last_day, 1)

    def y(value: Decimal) -> float:
        return round(TOP + (HEIGHT - TOP - BOTTOM) * float(1 - value / y_max), 1)

    path = [f"M {x(int(steps[0]['start_day']) - 1)} {y(doses[0])}"]
    for step, dose in zip(steps, doses, strict=True):
        path.append(f"V {y(dose)} H {x(int(step['end_day']))}")
    week_every = 7 if last_day <= 84 else 28
    start = date.fromisoformat(steps[0]["start_date"]) - timedelta(
        days=int(steps[0]["start_day"]) - 1
    )
    markers = []
    for point in observations:
        day = (point.observed_on - start).days + 1
        if not 1 <= day <= last_day:
            continue  # before the plan or after its last day: listed, not drawn
        dose = next(d for s, d in zip(steps, doses, strict=True) if int(s["end_day"]) >= day)
        markers.append(Marker(x(day - 0.5), y(dose), point.label, point.adverse))
    return Chart(
        width=WIDTH, height=HEIGHT, left=LEFT, top=TOP, right_x=x(last_day),
        bottom_y=y(Decimal(0)), path=" ".join(path),
        cap_y=y(cap_value) if cap_value is not None else None,
        cap_label=f"cap {format_decimal(cap_value)} {unit}/day" if cap_value is not None else "",
        y_ticks=tuple(
            (y(tick * i), f"{format_decimal(tick * i)} {unit}")
            for i in range(int(y_max / tick) + 1)
        ),
        x_ticks=tuple((x(d), f"day {d}") for d in range(0, last_day + 1, week_every)),
        unit=unit,
        summary=_summary(steps, doses, unit),
        markers=tuple(markers),
    )  # fmt: skip


def _nice_step(raw: Decimal) -> Decimal:
    magnitude = Decimal(10) ** (raw.adjusted() if raw > 0 else 0)
    for factor in _NICE:
        step = magnitude * Decimal(str(factor))
        if step >= raw:
            return step
    return magnitude * 10


def _summary(steps: list[dict[str, Any]], doses: list[Decimal], unit: str) -> str:
    first, last = doses[0], doses[-1]
    return (
        f"Daily dose from {format_decimal(first)} {unit} on day {steps[0]['start_day']} "
        f"to {format_decimal(last)} {unit} on day {steps[-1]['start_day']}, "
        f"in {len(steps)} step{'s' if len(steps) != 1 else ''}."
    )
