"""The clinic's formulary (issue 17): the engine gives only what the pharmacy stocks.

Unit cases for the tablet choice under a changed stock, the findings when the stock cannot
give the protocol's doses, the formulary's validation, and a property over random stocks:
every dose the engine emits is deliverable from the stock and never above the request.
"""

from __future__ import annotations

import dataclasses
import os
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.titration import (
    Dose,
    DoseNotDeliverableError,
    DoseUnit,
    Formulation,
    Override,
    Plan,
    PlanRequest,
    PlanStatus,
    PlanType,
    ProtocolError,
    ProtocolSet,
    TitrationError,
    build_plan,
    load_protocols,
)
from app.domain.titration.oral_doses import levels_by_rules, stock_findings, tablet_form
from app.domain.titration.plan import PreparationForm
from app.domain.titration.protocol_limits import limit_problems
from app.domain.titration.refill import calculate_refill
from tests.unit.domain.builders import (
    PROTOCOLS,
    START,
    codes,
    make_patient,
    make_request,
    mg,
    packaged_with,
)
from tests.unit.domain.test_properties_oral_a6 import oral_requests

D = Decimal
EXAMPLES = int(os.environ.get("TITRATE_HYPOTHESIS_EXAMPLES", "300"))


def stock(**values: Any) -> ProtocolSet:
    """The packaged protocols with the formulary's values replaced."""
    return load_protocols(packaged_with("formulary", **values))


def tablets_of(plan: Plan) -> list[list[tuple[Decimal, Decimal]]]:
    """Per step, each dose as (strength, tablets)."""
    return [
        [
            (a.preparation.tablet_strength.value, a.preparation.tablets)
            for a in step.administrations
            if a.preparation is not None
            and a.preparation.tablet_strength is not None
            and a.preparation.tablets is not None
        ]
        for step in plan.steps
    ]


def test_todays_stock_is_the_formulary_seed_and_plans_keep_their_tablets() -> None:
    formulary = PROTOCOLS.formulary
    assert formulary.decimal_lists["tablet_strengths_mg"] == (D(5), D(10), D(20))
    assert formulary.decimal_lists["scored_tablet_strengths_mg"] == (D(10), D(20))
    assert formulary.decimal_lists["oral_solution_mg_per_ml"] == (D(1),)
    plan = build_plan(make_request(), PROTOCOLS)
    assert tablets_of(plan)[0] == [(D(5), D(1))] * 3
    assert tablets_of(plan)[-1] == [(D(20), D(1))] * 3  # 60 mg/day: 20 mg three times
    assert {"formulations", "formulary"} <= {ref.id for ref in plan.protocols}


def test_a_clinic_without_20_mg_tablets_gets_two_10_mg_tablets() -> None:
    protocols = stock(tablet_strengths_mg=["5", "10"], scored_tablet_strengths_mg=["10"])
    plan = build_plan(make_request(), protocols)
    assert plan.status is PlanStatus.READY
    assert tablets_of(plan)[-1] == [(D(10), D(2))] * 3
    assert [s.daily_dose.value for s in plan.steps] == [15, 30, 45, 60]
    strengths = {line.tablet_strength.value for line in plan.dispense if line.tablet_strength}
    assert strengths == {D(5), D(10)}
    assert "formulary_changes_doses" not in codes(plan)


def test_without_scored_tablets_no_dose_is_a_half() -> None:
    protocols = stock(scored_tablet_strengths_mg=[])
    plan = build_plan(make_request(), protocols)
    pieces = [count for step in tablets_of(plan) for _, count in step]
    assert pieces
    assert all(count == count.to_integral_value() for count in pieces)
    # 10 mg a dose (30 mg/day) is one 10 mg tablet; 15 mg a dose is three 5 mg tablets.
    assert tablets_of(plan)[1] == [(D(10), D(1))] * 3
    assert tablets_of(plan)[2] == [(D(5), D(3))] * 3
    with_halves = build_plan(make_request(), PROTOCOLS)
    assert tablets_of(with_halves)[2] == [(D(10), D("1.5"))] * 3


def test_only_10_mg_unscored_and_no_solution_blocks_the_plan_with_a_finding() -> None:
    """5 mg doses are needed and nothing stocked gives them: said, never rounded away."""
    protocols = stock(
        tablet_strengths_mg=["10"], scored_tablet_strengths_mg=[], oral_solution_mg_per_ml=[]
    )
    plan = build_plan(make_request(), protocols)
    assert plan.status is PlanStatus.BLOCKED
    assert plan.steps == ()
    finding = next(f for f in plan.findings if f.code == "no_stocked_formulation")
    assert finding.severity.value == "block"
    assert not finding.overridable
    assert finding.source
    assert "15 mg/day" in finding.message
    # The limits still say what the patient may reach (the planner shows them beside the block).
    assert (plan.limits.max_daily_dose, plan.limits.target_daily_dose) == (mg(80), mg(60))
    taper = build_plan(
        make_request(plan_type=PlanType.ORAL_TAPER, current_daily_dose=mg(30)), protocols
    )
    assert taper.status is PlanStatus.BLOCKED  # a taper keeps this block (no steps to give)
    assert "no_stocked_formulation" in codes(taper)


def test_only_10_mg_unscored_with_the_solution_stocked_gives_the_solution() -> None:
    protocols = stock(tablet_strengths_mg=["10"], scored_tablet_strengths_mg=[])
    plan = build_plan(make_request(), protocols)
    assert plan.status is PlanStatus.READY
    assert {a.preparation.form for s in plan.steps for a in s.administrations if a.preparation} == {
        PreparationForm.ORAL_SOLUTION
    }
    solution = next(f for f in plan.findings if f.code == "solution_only")
    assert solution.message.endswith("Concentration: 1 mg/mL (5 mg/5 mL).")
    assert [s.daily_dose.value for s in plan.steps] == [15, 30, 45, 60]
    strong = stock(
        tablet_strengths_mg=["10"], scored_tablet_strengths_mg=[], oral_solution_mg_per_ml=["5"]
    )
    taper = make_request(plan_type=PlanType.ORAL_TAPER, current_daily_dose=mg(30))
    solution = next(f for f in build_plan(taper, strong).findings if f.code == "solution_only")
    assert solution.message.endswith("Concentration: 5 mg/mL (25 mg/5 mL).")


def test_stock_that_changes_the_protocols_doses_is_a_major_finding() -> None:
    """Older adult held at 10 mg/day: the rules give 5 mg twice, 10 mg tablets once."""
    protocols = stock(
        tablet_strengths_mg=["10"], scored_tablet_strengths_mg=[], oral_solution_mg_per_ml=[]
    )
    request = make_request(
        patient=make_patient(age_years=D(70)), target_daily_dose=mg(10)
    )  # fmt: skip
    plan = build_plan(request, protocols)
    assert tablets_of(plan) == [[(D(10), D(1))]]
    finding = next(f for f in plan.findings if f.code == "formulary_changes_doses")
    assert finding.severity.value == "major"
    assert "5 + 5 mg" in finding.message
    assert "10 mg" in finding.message
    assert "formulary_changes_doses" not in codes(build_plan(request, PROTOCOLS))


def test_the_most_dilute_stocked_solution_is_used() -> None:
    protocols = stock(oral_solution_mg_per_ml=["5", "1"])
    plan = build_plan(make_request(formulation=Formulation.ORAL_SOLUTION), protocols)
    concentrations = {
        a.preparation.concentration.value
        for s in plan.steps
        for a in s.administrations
        if a.preparation and a.preparation.concentration
    }
    assert concentrations == {D(1)}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"scored_tablet_strengths_mg": ["25"]}, "not a stocked tablet strength"),
        ({"tablet_strengths_mg": []}, "at least one tablet strength"),
        ({"tablet_strengths_mg": ["10", "10"]}, "distinct numbers above 0"),
        ({"oral_solution_mg_per_ml": ["0"]}, "distinct numbers above 0"),
        ({"pump_models": [{"model": "X"}]}, "exactly model and reservoir_ml"),
        ({"pump_models": [{"model": " ", "reservoir_ml": "20"}]}, "model's name"),
        ({"pump_models": []}, "non-empty list"),
        ({"pump_models": [{"model": "X", "reservoir_ml": "0"}]}, "more than 0 mL"),
        ({"oral_solution_mg_per_ml": "1"}, "expected a list"),
    ],
)
def test_the_loader_refuses_an_inconsistent_formulary(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        stock(**values)


def test_hard_limits_hold_for_every_stocked_pump_value() -> None:
    assert limit_problems(PROTOCOLS.formulary) == ()
    edited = stock(
        intrathecal_pump_mcg_per_ml=["500", "3000", "4000"],
        pump_models=[{"model": "Big", "reservoir_ml": "60"}],
    ).formulary
    problems = {p.parameter: p.message for p in limit_problems(edited)}
    assert set(problems) == {"intrathecal_pump_mcg_per_ml", "pump_models"}
    # One problem per parameter: its first value out of bounds.
    assert "3000 is outside the hard limit (50 to 2000" in problems["intrathecal_pump_mcg_per_ml"]
    assert [pump.label for pump in PROTOCOLS.formulary.pumps["pump_models"]][:3] == [
        "SynchroMed II, 20 mL", "SynchroMed II, 40 mL", "Prometra, 20 mL",
    ]  # fmt: skip
    assert "60 is outside the hard limit (10 to 50" in problems["pump_models"]


STRENGTHS = ("5", "10", "15", "20", "25")


@st.composite
def formularies(draw: st.DrawFn) -> ProtocolSet:
    tablets = draw(st.lists(st.sampled_from(STRENGTHS), min_size=1, unique=True))
    scored = draw(st.lists(st.sampled_from(tablets), unique=True))
    solution = draw(st.sampled_from(([], ["1"], ["1", "5"])))
    return stock(
        tablet_strengths_mg=tablets, scored_tablet_strengths_mg=scored,
        oral_solution_mg_per_ml=solution,
    )  # fmt: skip


def _overridden(request: PlanRequest, protocols: ProtocolSet) -> Plan | None:
    try:
        first = build_plan(request, protocols)
        overrides = tuple(Override(f.code, "property") for f in first.findings if f.overridable)
        return build_plan(dataclasses.replace(request, overrides=overrides), protocols)
    except TitrationError:
        return None


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(protocols=formularies(), request=oral_requests())
def test_every_dose_is_deliverable_from_the_stock_and_never_above_the_request(
    protocols: ProtocolSet, request: PlanRequest
) -> None:
    _check_deliverable(protocols, request)


def _check_deliverable(protocols: ProtocolSet, request: PlanRequest) -> None:
    plan = _overridden(request, protocols)
    if plan is None or plan.status is PlanStatus.BLOCKED:
        return
    formulary = protocols.formulary
    stocked = set(formulary.decimal_lists["tablet_strengths_mg"])
    scored = set(formulary.decimal_lists["scored_tablet_strengths_mg"])
    solutions = set(formulary.decimal_lists["oral_solution_mg_per_ml"])
    # The request: the target, or today's dose a titration continues from or a taper cuts.
    assert plan.limits.target_daily_dose is not None
    assert plan.limits.max_daily_dose is not None
    requested = [plan.limits.target_daily_dose.value]
    if request.current_daily_dose is not None:
        requested.append(request.current_daily_dose.value)
    for step in plan.steps:
        assert step.daily_dose.value <= max(requested)
        assert step.daily_dose.value <= plan.limits.max_daily_dose.value
        for administration in step.administrations:
            preparation = administration.preparation
            assert preparation is not None
            dose = administration.dose.value
            if preparation.form is PreparationForm.TABLET:
                assert preparation.tablet_strength is not None
                assert preparation.tablets
                strength, count = preparation.tablet_strength.value, preparation.tablets
                assert strength in stocked
                assert strength * count == dose
                whole = count == count.to_integral_value()
                assert whole or (
                    strength in scored and (2 * count).to_integral_value() == 2 * count
                )
            else:
                assert preparation.concentration is not None
                assert preparation.concentration.value in solutions


def test_only_25_mg_scored_tablets_cannot_keep_the_adult_pace_so_the_solution_is_used() -> None:
    protocols = stock(tablet_strengths_mg=["25"], scored_tablet_strengths_mg=["25"])
    plan = build_plan(make_request(), protocols)
    assert "solution_only" in codes(plan)
    assert [s.daily_dose.value for s in plan.steps] == [15, 30, 45, 60]


def test_a_taper_takes_coarse_tablets_only_when_every_level_divides() -> None:
    only_20 = stock(tablet_strengths_mg=["20"], scored_tablet_strengths_mg=["20"])
    taper = make_request(plan_type=PlanType.ORAL_TAPER, current_daily_dose=mg(120))
    plan = build_plan(taper, only_20)
    assert [s.daily_dose.value for s in plan.steps] == [90, 60, 30]
    assert {strength for step in tablets_of(plan) for strength, _ in step} == {D(20)}
    # From 80 mg/day the 20 mg level would be twice 10 mg (A.6.2): the solution instead.
    from_80 = build_plan(dataclasses.replace(taper, current_daily_dose=mg(80)), only_20)
    assert "solution_only" in codes(from_80)
    assert [s.daily_dose.value for s in from_80.steps] == [60, 40, 20]


def test_the_stock_finding_names_the_first_step_that_differs() -> None:
    assert stock_findings([(D(5),)], None) == ()
    assert stock_findings([(D(5),)], [(D(5),)]) == ()
    (shorter,) = stock_findings([(D(10),)], [(D(10),), (D(5), D(5), D(5))])
    assert shorter.detail == "Step 2: the protocol gives 5 + 5 + 5 mg; the stock gives no step."
    (longer,) = stock_findings([(D(10),), (D(20),)], [(D(10),)])
    assert longer.detail == "Step 2: the protocol gives no step; the stock gives 20 mg."
    (unknown,) = stock_findings([(D(10),)], [])
    assert (unknown.code, unknown.detail) == ("formulary_changes_doses", "")


def test_levels_by_rules_costs_nothing_for_todays_stock_and_survives_a_refusal() -> None:
    todays = tablet_form(PROTOCOLS.formulations, PROTOCOLS.formulary)
    assert todays.rules_step is None
    assert levels_by_rules(todays, lambda form: pytest.fail("not called")) is None
    only_10 = stock(tablet_strengths_mg=["10"], scored_tablet_strengths_mg=[])
    coarse = tablet_form(PROTOCOLS.formulations, only_10.formulary)
    assert (coarse.step, coarse.rules_step) == (D(10), D(5))

    def refuse(form: object) -> list[tuple[Decimal, ...]]:
        raise DoseNotDeliverableError("no")

    assert levels_by_rules(coarse, refuse) == ()


def test_a_refill_at_a_concentration_the_clinic_does_not_stock_is_major() -> None:
    def refill(concentration: str) -> list[str]:
        result = calculate_refill(
            reservoir_ml=D(20), alarm_volume_ml=D(2), concentration_mcg_per_ml=D(concentration),
            daily_dose=Dose(D(100), DoseUnit.MCG), fill_date=START,
            max_refill_interval_days=180, protocols=PROTOCOLS,
        )  # fmt: skip
        return [f"{f.code}:{f.severity.value}" for f in result.findings]

    assert refill("1000") == []
    assert refill("750") == ["concentration_not_stocked:major"]
    assert refill("250") == ["diluted_concentration:info"]


def test_the_unstocked_concentration_finding_names_the_concentration_and_the_stock() -> None:
    def details(concentration: str, protocols: ProtocolSet = PROTOCOLS) -> list[str]:
        result = calculate_refill(
            reservoir_ml=D(20), alarm_volume_ml=D(2), concentration_mcg_per_ml=D(concentration),
            daily_dose=Dose(D(100), DoseUnit.MCG), fill_date=START,
            max_refill_interval_days=180, protocols=protocols,
        )  # fmt: skip
        rules = protocols.findings.rules
        return [
            f"{f.code}:{f.message.removeprefix(rules[f.code].message)}" for f in result.findings
        ]

    assert details("750") == [
        "concentration_not_stocked: Concentration: 750 mcg/mL; the formulary stocks "
        "500, 1000, 2000 mcg/mL."
    ]
    # The lowest marketed strength itself is not a dilution: unstocked, it is named as such.
    only_2000 = stock(intrathecal_pump_mcg_per_ml=["2000"])
    assert details("500", only_2000) == [
        "concentration_not_stocked: Concentration: 500 mcg/mL; the formulary stocks 2000 mcg/mL."
    ]
    nothing = stock(intrathecal_pump_mcg_per_ml=[])
    assert details("1000", nothing) == [
        "concentration_not_stocked: Concentration: 1000 mcg/mL; the formulary stocks none mcg/mL."
    ]


@st.composite
def adult_tablet_requests(draw: st.DrawFn) -> PlanRequest:
    """Adults on tablets (the random oral requests are mostly children or refused)."""
    taper = draw(st.booleans())
    current = draw(st.sampled_from(("10", "15", "20", "30", "40", "45", "60", "80", "120")))
    return make_request(
        patient=make_patient(age_years=D(draw(st.integers(18, 90)))),
        plan_type=PlanType.ORAL_TAPER if taper else PlanType.ORAL_TITRATION,
        current_daily_dose=mg(current) if taper or draw(st.booleans()) else None,
        target_daily_dose=mg(draw(st.sampled_from(("10", "20", "30", "40", "60", "80")))),
        doses_per_day=draw(st.none() | st.integers(1, 4)),
    )


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(protocols=formularies(), request=adult_tablet_requests())
def test_adults_doses_are_deliverable_from_the_stock_and_never_above_the_request(
    protocols: ProtocolSet, request: PlanRequest
) -> None:
    _check_deliverable(protocols, request)


def test_the_plans_dispense_total_rounds_half_tablets_up_to_whole_tablets_once() -> None:
    """A taper from 35 mg/day on scored 10 mg tablets takes 31.5 tablets over its steps: the
    pharmacy hands out 32, never half a tablet and never a rounding per step."""
    only_10 = stock(tablet_strengths_mg=["10"], scored_tablet_strengths_mg=["10"])
    plan = build_plan(
        make_request(plan_type=PlanType.ORAL_TAPER, current_daily_dose=mg(35)), only_10
    )
    assert sum(line.quantity for step in plan.steps for line in step.dispense) == D("31.5")
    (line,) = plan.dispense
    assert (line.quantity, line.quantity_unit, line.tablet_strength) == (D(32), "tablet", mg(10))
