"""Intrathecal titration (A.3, A.6.7) at the edges: refusals name their field, the ceiling
and high-dose findings say their figures, and the steps are numbered from 1."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.titration import (
    Indication,
    IntrathecalInput,
    InvalidInputError,
    MilestoneKind,
    MissingInputError,
    Plan,
    PlanType,
    StepPercentOutOfRangeError,
    TargetAboveHardLimitError,
    WrongUnitError,
)
from app.domain.titration.plan import Limits
from app.domain.titration.units import Dose
from tests.unit.domain.builders import codes, make_patient, mcg, mg, plan_for

D = Decimal
PATIENT = make_patient(age_years=D(34), weight_kg=D(75), spinal_injury_level="T4")


def titration(
    target: Dose | None = None, *, bolus: int = 100, percent: int = 30, days: int = 9,
    hours: str = "4",
) -> Plan:  # fmt: skip
    return plan_for(
        plan_type=PlanType.ITB_TITRATION, patient=PATIENT,
        indication=Indication.SPINAL_CORD_INJURY, target_daily_dose=target,
        intrathecal=IntrathecalInput(
            effective_bolus=mcg(bolus), effect_duration_hours=D(hours),
            step_percent=D(percent), days=days,
        ),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("call", "error", "field", "message"),
    [
        (
            lambda: titration(days=0), InvalidInputError, "intrathecal.days",
            "The titration needs at least 1 day.",
        ),
        (
            lambda: titration(mg(500)), WrongUnitError, "target_daily_dose",
            "target_daily_dose is in mg; this plan takes mcg only.",
        ),
        (
            lambda: titration(mcg(0)), InvalidInputError, "target_daily_dose",
            "The target must be above 0 mcg/day.",
        ),
        (
            lambda: titration(mcg(2001)), TargetAboveHardLimitError, "target_daily_dose",
            "An intrathecal target above 2000 mcg/day is refused (A.6.7, R-IT-M1: beyond the "
            "trial range).",
        ),
        (
            lambda: titration(percent=31), StepPercentOutOfRangeError,
            "intrathecal.step_percent", "Daily step must be 10–30 % for this patient.",
        ),
    ],
)  # fmt: skip
def test_each_refused_titration_input_names_its_field_and_rule(
    call: object, error: type[Exception], field: str, message: str
) -> None:
    with pytest.raises(error) as refused:
        call()  # type: ignore[operator]
    assert (refused.value.field, str(refused.value)) == (field, message)  # type: ignore[attr-defined]


def test_the_ceiling_milestone_says_the_dose_holds_and_what_to_reassess() -> None:
    plan = titration(days=14)
    (ceiling,) = (m for m in plan.milestones if m.kind is MilestoneKind.CEILING_REACHED)
    assert ceiling.text == (
        "Ceiling of 1000 mcg/day reached (R-IT-M5): the dose holds; reassess (pump, catheter, "
        "response) before any further increase."
    )


def test_high_dose_names_the_highest_planned_day_and_not_a_target_of_1000() -> None:
    plan = titration(mcg(2000))  # 200 … 1251, 1626 on day 9
    (finding,) = (f for f in plan.findings if f.code == "itb_high_dose")
    assert finding.message.endswith(" Target: 2000 mcg/day. Planned up to 1626 mcg/day.")
    assert "itb_high_dose" not in codes(titration(mcg(1000), days=3))  # 1000 is not above


def test_a_large_step_is_one_that_ends_above_500_not_at_500() -> None:
    # 50 mcg lasting 12 h: 50 a day, +24 %: … 335, 416, then 500 (+20.2 %) clipped to the target.
    plan = titration(mcg(500), bolus=50, percent=24, days=40, hours="12")
    dailies = [s.daily_dose.value for s in plan.steps]
    assert dailies[-2:] == [D(416), D(500)]
    assert "itb_large_step" not in codes(plan)


def test_steps_are_numbered_from_1_and_a_target_is_the_limit() -> None:
    plan = titration(mcg(2000))
    assert [s.index for s in plan.steps] == list(range(1, 10))
    assert plan.limits == Limits(mcg(2000), mcg(2000))


def _from_bolus(bolus: Dose | None, hours: str | None) -> Plan:
    return plan_for(
        plan_type=PlanType.ITB_TITRATION, patient=PATIENT,
        indication=Indication.SPINAL_CORD_INJURY,
        intrathecal=IntrathecalInput(
            effective_bolus=bolus, effect_duration_hours=None if hours is None else D(hours),
            step_percent=D(10), days=3,
        ),
    )  # fmt: skip


BOLUS_REFUSED = (
    "The effective bolus must be above 0 and at most 100 mcg (R-IT-S5); "
    "the effect duration cannot be negative."
)
WRONG_UNIT = "intrathecal.effective_bolus is in mg; this plan takes mcg only."
BOLUS_MISSING = "Titration needs the effective screening bolus and how long its effect lasted."


@pytest.mark.parametrize(
    ("bolus", "hours", "error", "message"),
    [
        (None, "6", MissingInputError, BOLUS_MISSING),
        (mcg(50), None, MissingInputError, BOLUS_MISSING),
        (mg(50), "6", WrongUnitError, WRONG_UNIT),
        (mcg(0), "6", InvalidInputError, BOLUS_REFUSED),
        (mcg(101), "6", InvalidInputError, BOLUS_REFUSED),
        (mcg(50), "-0.5", InvalidInputError, BOLUS_REFUSED),
    ],
)  # fmt: skip
def test_a_titration_without_a_usable_screening_bolus_is_refused_on_the_bolus_field(
    bolus: Dose | None, hours: str | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as refused:
        _from_bolus(bolus, hours)
    assert (refused.value.field, str(refused.value)) == ("intrathecal.effective_bolus", message)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("bolus", "hours", "first_day"),
    [
        ("100", "0", "200"),  # the largest bolus, an effect of no measurable length: 2 ×
        ("50", "8", "100"),  # up to 8 hours: twice the bolus (R-IT-P1)
        ("50", "8.01", "50"),  # longer than 8 hours: the bolus itself
        ("33.3", "6", "66"),  # 66.6 mcg/day, rounded down to whole micrograms
        ("0.6", "6", "1"),  # 1.2 mcg/day, rounded down to 1
    ],
)
def test_the_first_daily_dose_follows_from_the_bolus_and_how_long_it_worked(
    bolus: str, hours: str, first_day: str
) -> None:
    plan = _from_bolus(mcg(bolus), hours)
    assert plan.steps[0].daily_dose == mcg(first_day)
