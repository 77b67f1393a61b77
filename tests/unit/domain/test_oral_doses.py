"""Single doses, preparations and dispense quantities of oral plans (A.1, A.6.3)."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from app.domain.titration import (
    DoseNotDeliverableError,
    Formulation,
    PlanType,
    PreparationForm,
    TimeOfDay,
    build_plan,
)
from app.domain.titration.oral_doses import (
    DoseCountRule,
    divide,
    divide_levels,
    mg_per_kg,
    tablet_form,
)
from app.domain.titration.plan import Administration, Concentration, DispenseLine, Preparation
from app.domain.titration.protocol import parse_protocol, read_protocol_bytes
from app.domain.titration.units import Dose, DoseUnit, round_up_to_whole
from tests.unit.domain.builders import PROTOCOLS, codes, make_patient, make_request, plan_for

D = Decimal
TABLETS = tablet_form(PROTOCOLS.formulations, PROTOCOLS.formulary)
ONE_MG_PER_ML = Concentration(D(1), DoseUnit.MG)
ADULT_RULE = DoseCountRule(3, D(60), 4, 4, D(20), D(10), ("evening", "morning", "night", "midday"))


def test_a_light_childs_solution_doses_are_measured_in_ml_and_dispensed_per_step_and_plan() -> None:
    child = make_patient(
        age_years=D(10), weight_kg=D(25), serum_creatinine=None,
        creatinine_clearance_ml_min=D(100),
    )  # fmt: skip
    plan = plan_for(patient=child)
    first = plan.steps[0]
    dose = Dose(D("1.8"), DoseUnit.MG)
    liquid = Preparation(
        PreparationForm.ORAL_SOLUTION, concentration=ONE_MG_PER_ML, volume_ml=D("1.8")
    )
    assert first.administrations == tuple(
        Administration(time, dose, liquid)
        for time in (TimeOfDay.MORNING, TimeOfDay.MIDDAY, TimeOfDay.EVENING, TimeOfDay.NIGHT)
    )
    # 7.2 mg a day for days 1-3 of a 1 mg/mL solution: 21.6 mL.
    assert first.dispense == (
        DispenseLine(PreparationForm.ORAL_SOLUTION, D("21.6"), "mL", concentration=ONE_MG_PER_ML),
    )
    total = sum(s.daily_dose.value * (s.end_day - s.start_day + 1) for s in plan.steps)
    assert plan.dispense == (
        DispenseLine(PreparationForm.ORAL_SOLUTION, total, "mL", concentration=ONE_MG_PER_ML),
    )
    assert first.mg_per_kg_day == D("0.29")  # 7.2 / 25 = 0.288


def test_tablets_are_dispensed_as_a_count_of_tablets_of_a_named_strength() -> None:
    plan = plan_for()  # SC-01: 15 mg/day as 3 × 5 mg for three days
    assert plan.steps[0].dispense == (
        DispenseLine(
            PreparationForm.TABLET, D(9), "tablet", tablet_strength=Dose(D(5), DoseUnit.MG)
        ),
    )


def test_a_tablet_plan_is_not_marked_solution_only() -> None:
    assert codes(plan_for()) == {
        "do_not_stop_abruptly", "driving", "no_benefit_review", "take_with_meals",
    }  # fmt: skip


def test_mg_per_kg_day_is_rounded_half_up_to_hundredths() -> None:
    assert mg_per_kg(D(5), D(40)) == D("0.13")  # 0.125: half-even would give 0.12
    assert mg_per_kg(D("7.2"), D(25)) == D("0.29")


@pytest.mark.parametrize(
    ("amount", "delivered"),
    [("5", True), ("10", True), ("2.5", False), ("7.5", False), ("0", False), ("-5", False)],
)
def test_tablets_deliver_positive_whole_multiples_of_5_mg(amount: str, delivered: bool) -> None:
    assert TABLETS.delivers(D(amount)) is delivered


def _stock(strengths: list[str], scored: list[str]):  # type: ignore[no-untyped-def]
    document = json.loads(read_protocol_bytes("formulary"))
    document["parameters"]["tablet_strengths_mg"]["value"] = strengths
    document["parameters"]["scored_tablet_strengths_mg"]["value"] = scored
    return parse_protocol("formulary", json.dumps(document).encode())


def test_half_a_scored_tablet_is_the_increment_when_it_is_the_smallest_piece() -> None:
    rules = PROTOCOLS.formulations
    assert tablet_form(rules, _stock(["10", "20"], ["10", "20"])).step == D(5)
    assert tablet_form(rules, _stock(["10", "20"], ["20"])).step == D(10)


def test_equal_consecutive_levels_are_merged_and_the_later_ones_kept() -> None:
    levels, adjusted = divide_levels([D(15), D(15), D(20), D(20), D(30)], None, ADULT_RULE, TABLETS)
    assert [sum(level) for level in levels] == [D(15), D(20), D(30)]
    assert adjusted == []


def test_a_dose_no_count_can_give_is_refused_naming_the_limits() -> None:
    with pytest.raises(DoseNotDeliverableError) as refused:
        divide(D("2.5"), None, ADULT_RULE, TABLETS)
    assert str(refused.value) == "2.5 mg/day cannot be given in at most 4 doses of at most 20 mg."


@pytest.mark.parametrize(
    ("quantity", "supplied"), [("2.5", 3), ("7.2", 8), ("0.5", 1), ("9", 9), ("3.5", 4)]
)
def test_a_part_of_a_tablet_over_the_plan_is_supplied_as_a_whole_tablet(
    quantity: str, supplied: int
) -> None:
    assert round_up_to_whole(D(quantity)) == D(supplied)


def test_a_dose_no_formulation_can_deliver_is_refused_in_those_words() -> None:
    # An adult taper from 0.3 mg/day: neither 5 mg tablets nor 0.5 mg of solution give it.
    with pytest.raises(DoseNotDeliverableError) as refused:
        plan_for(plan_type=PlanType.ORAL_TAPER, current_daily_dose=Dose(D("0.3"), DoseUnit.MG))
    assert str(refused.value) == "No formulation in the library can deliver these doses."


def test_the_volume_of_solution_follows_its_concentration() -> None:
    document = json.loads(read_protocol_bytes("formulary"))
    document["parameters"]["oral_solution_mg_per_ml"]["value"] = ["2"]
    two_per_ml = parse_protocol("formulary", json.dumps(document).encode())
    request = make_request(formulation=Formulation.ORAL_SOLUTION)
    plan = build_plan(request, replace(PROTOCOLS, formulary=two_per_ml))
    first = plan.steps[0]  # 15 mg/day as 3 × 5 mg for three days: 2.5 mL a dose, 22.5 mL
    assert [a.preparation.volume_ml for a in first.administrations if a.preparation] == [
        D("2.5")
    ] * 3
    assert first.dispense == (
        DispenseLine(
            PreparationForm.ORAL_SOLUTION, D("22.5"), "mL",
            concentration=Concentration(D(2), DoseUnit.MG),
        ),
    )  # fmt: skip
