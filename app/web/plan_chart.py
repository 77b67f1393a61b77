"""The dose-over-time chart as numbers for a server-rendered SVG (no chart JavaScript).

Continuous plans (oral titration and taper, intrathecal titration) are a step line of the
daily dose per day; a taper starts at the dose the patient takes before day 1 and ends with
the drop to zero on its stop day, so the reader sees where it begins and that it ends. An
intrathecal screening is a few single boluses, one per test day: each is its own mark (a stem
and a dot), never a line joining doses that were not given in between, on an axis with every
test day. A dashed line marks the daily cap, and a marker sits on the line for each follow-up
observation (filled red with an adverse effect, hollow otherwise). Coordinates are plain
numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
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
class Bolus:
    x: float
    y: float
    label: str  # "75 mcg"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    right_x: float
    bottom_y: float
    path: str  # the step line; "" for boluses
    cap_y: float | None
    cap_label: str
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    unit: str
    summary: str
    boluses: tuple[Bolus, ...] = ()
    x_label: str = "day of the plan"
    markers: tuple[Marker, ...] = ()
    start_dose: Decimal | None = None  # a taper's dose before day 1, drawn on day 0


def build_chart(
    plain: dict[str, Any],
    observations: Sequence[ObservationPoint] = (),
    *,
    start_dose: Decimal | None = None,
) -> Chart:
    """`start_dose`: a taper's daily dose before day 1 (drawn on day 0); `observations` are
    marked on the dose line of a continuous plan."""
    if plain["plan_type"] == "itb_screening":
        return _bolus_chart(plain)
    steps = plain["steps"]
    unit = plain["unit"]
    doses = [Decimal(s["daily_dose"]["value"]) for s in steps]
    stop_day = _stop_day(plain)
    last_day = max(max(int(s["end_day"]) for s in steps), (stop_day or 0))
    first_day = int(steps[0]["start_day"]) - 1
    if start_dose is not None:
        first_day -= 1  # one day at the dose taken before the plan starts
    scale = _Scale(plain, [*doses, start_dose or Decimal(0)], first_day, last_day)
    x, y = scale.x, scale.y
    if start_dose is not None:
        path = [f"M {x(first_day)} {y(start_dose)} H {x(first_day + 1)}"]
    else:
        path = [f"M {x(first_day)} {y(doses[0])}"]
    for step, dose in zip(steps, doses, strict=True):
        path.append(f"V {y(dose)} H {x(int(step['end_day']))}")
    if stop_day is not None:
        path.append(f"V {y(Decimal(0))} H {x(last_day)}")
    span = last_day - first_day
    week_every = 7 if span <= 84 else 28
    first_tick = 0 if first_day >= -1 else first_day
    ticks = [d for d in range(first_tick, last_day + 1, week_every)]
    summary = _summary(steps, doses, unit, start_dose, stop_day)
    markers = _markers(steps, doses, observations, scale)
    chart = scale.chart(path=" ".join(path), x_ticks=tuple((x(d), f"day {d}") for d in ticks),
                        summary=summary)  # fmt: skip
    return replace(chart, markers=markers, start_dose=start_dose)


def _markers(
    steps: list[dict[str, Any]],
    doses: list[Decimal],
    observations: Sequence[ObservationPoint],
    scale: _Scale,
) -> tuple[Marker, ...]:
    if not observations:
        return ()
    last_day = max(int(s["end_day"]) for s in steps)
    start = date.fromisoformat(steps[0]["start_date"]) - timedelta(
        days=int(steps[0]["start_day"]) - 1
    )
    markers = []
    for point in observations:
        day = (point.observed_on - start).days + 1
        if not 1 <= day <= last_day:
            continue  # before the plan or after its last day: listed, not drawn
        dose = next(d for s, d in zip(steps, doses, strict=True) if int(s["end_day"]) >= day)
        markers.append(Marker(scale.x(day - 0.5), scale.y(dose), point.label, point.adverse))
    return tuple(markers)


def _bolus_chart(plain: dict[str, Any]) -> Chart:
    steps = plain["steps"]
    unit = plain["unit"]
    doses = [Decimal(s["daily_dose"]["value"]) for s in steps]
    # One slot per test day, the bolus in its middle: day n spans n-1 … n.
    last_day = max(int(s["end_day"]) for s in steps)
    scale = _Scale(plain, doses, 0, last_day)
    boluses = tuple(
        Bolus(scale.x(int(s["start_day"]) - 0.5), scale.y(dose), f"{format_decimal(dose)} {unit}")
        for s, dose in zip(steps, doses, strict=True)
    )
    given = [
        f"day {s['start_day']} {format_decimal(d)} {unit}"
        for s, d in zip(steps, doses, strict=True)
    ]
    summary = "Single test boluses: " + "; ".join(given) + "."
    return scale.chart(
        path="",
        x_ticks=tuple((scale.x(day - 0.5), f"day {day}") for day in range(1, last_day + 1)),
        summary=summary,
        boluses=boluses,
        x_label="test day",
    )


class _Scale:
    def __init__(self, plain: dict[str, Any], values: list[Decimal], first: int, last: int):
        self.unit = plain["unit"]
        cap = plain["limits"]["max_daily_dose"]
        self.cap = Decimal(cap["value"]) if cap else None
        top_value = max([*values, self.cap or Decimal(0), Decimal(1)])
        self.tick = _nice_step(top_value / 4)
        self.y_max = self.tick * (top_value / self.tick).to_integral_value(rounding="ROUND_CEILING")
        if self.y_max == top_value:
            self.y_max += self.tick
        self.first, self.last = first, max(last, first + 1)

    def x(self, day: float) -> float:
        span = self.last - self.first
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (day - self.first) / span, 1)

    def y(self, value: Decimal) -> float:
        return round(TOP + (HEIGHT - TOP - BOTTOM) * float(1 - value / self.y_max), 1)

    def chart(self, *, path: str, x_ticks: tuple[tuple[float, str], ...], summary: str,
              boluses: tuple[Bolus, ...] = (),
              x_label: str = "day of the plan") -> Chart:  # fmt: skip
        cap = self.cap
        return Chart(
            width=WIDTH, height=HEIGHT, left=LEFT, top=TOP, right_x=self.x(self.last),
            bottom_y=self.y(Decimal(0)), path=path,
            cap_y=self.y(cap) if cap is not None else None,
            cap_label=f"cap {format_decimal(cap)} {self.unit}/day" if cap is not None else "",
            y_ticks=tuple(
                (self.y(self.tick * i), f"{format_decimal(self.tick * i)} {self.unit}")
                for i in range(int(self.y_max / self.tick) + 1)
            ),
            x_ticks=x_ticks, unit=self.unit, summary=summary, boluses=boluses, x_label=x_label,
        )  # fmt: skip


def _stop_day(plain: dict[str, Any]) -> int | None:
    stops = [int(m["day"]) for m in plain.get("milestones", ()) if m.get("kind") == "stop"]
    return stops[0] if stops else None


def _nice_step(raw: Decimal) -> Decimal:
    magnitude = Decimal(10) ** (raw.adjusted() if raw > 0 else 0)
    for factor in _NICE:
        step = magnitude * Decimal(str(factor))
        if step >= raw:
            return step
    return magnitude * 10


def _summary(
    steps: list[dict[str, Any]],
    doses: list[Decimal],
    unit: str,
    start_dose: Decimal | None,
    stop_day: int | None,
) -> str:
    first, last = doses[0], doses[-1]
    text = ""
    if start_dose is not None:
        text = f"From {format_decimal(start_dose)} {unit} a day before the plan. "
    text += (
        f"Daily dose from {format_decimal(first)} {unit} on day {steps[0]['start_day']} "
        f"to {format_decimal(last)} {unit} on day {steps[-1]['start_day']}, "
        f"in {len(steps)} step{'s' if len(steps) != 1 else ''}."
    )
    if stop_day is not None:
        text += f" None from day {stop_day} on."
    return text
