"""Inputs that cannot give a valid plan raise coded errors; overrides are checked."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from app.domain.titration import (
    DoseNotDeliverableError,
    Formulation,
    Indication,
    IntervalTooShortError,
    IntrathecalInput,
    InvalidInputError,
    MissingInputError,
    Override,
    OverrideNotAllowedError,
    OverrideNotApplicableError,
    OverrideReasonMissingError,
    PlanStatus,
    PlanType,
    StepPercentOutOfRangeError,
    TitrationError,
    WrongUnitError,
)
from tests.unit.domain.builders import codes, make_patient, mcg, mg, plan_for

D = Decimal
ITB = {"plan_type": PlanType.ITB_TITRATION}


@pytest.mark.parametrize(
    ("overrides", "error", "code"),
    [
        ({"target_daily_dose": mcg(60)}, WrongUnitError, "wrong_unit"),
        (
            {**ITB, "target_daily_dose": mg(300), "intrathecal": IntrathecalInput(mcg(50), D(6))},
            WrongUnitError,
            "wrong_unit",
        ),
        ({**ITB, "intrathecal": IntrathecalInput(mg(50), D(6))}, WrongUnitError, "wrong_unit"),
        (
            {"plan_type": PlanType.ORAL_TAPER, "current_daily_dose": mcg(60)},
            WrongUnitError,
            "wrong_unit",
        ),
        ({"plan_type": PlanType.ORAL_TAPER}, MissingInputError, "missing_input"),
        (
            {"plan_type": PlanType.ORAL_TAPER, "current_daily_dose": mg(0)},
            InvalidInputError,
            "invalid_input",
        ),
        (
            {"plan_type": PlanType.ORAL_TAPER, "current_daily_dose": mg("0.3")},
            DoseNotDeliverableError,
            "dose_not_deliverable",
        ),
        ({**ITB}, MissingInputError, "missing_input"),
        (
            {**ITB, "intrathecal": IntrathecalInput(mcg(150), D(6))},
            InvalidInputError,
            "invalid_input",
        ),
        (
            {**ITB, "intrathecal": IntrathecalInput(mcg(50), D(-1))},
            InvalidInputError,
            "invalid_input",
        ),
        (
            {**ITB, "intrathecal": IntrathecalInput(mcg(50), D(6), days=0)},
            InvalidInputError,
            "invalid_input",
        ),
        (
            {**ITB, "intrathecal": IntrathecalInput(mcg(50), D(6), step_percent=D(31))},
            StepPercentOutOfRangeError,
            "step_percent_out_of_range",
        ),
        (
            {
                **ITB,
                "indication": Indication.CEREBRAL_PALSY,
                "intrathecal": IntrathecalInput(mcg(50), D(6), step_percent=D(20)),
            },
            StepPercentOutOfRangeError,
            "step_percent_out_of_range",
        ),
        (
            {
                "plan_type": PlanType.ITB_SCREENING,
                "intrathecal": IntrathecalInput(screening_responses=(True, False)),
            },
            InvalidInputError,
            "invalid_input",
        ),
        (
            {
                "plan_type": PlanType.ITB_SCREENING,
                "intrathecal": IntrathecalInput(screening_responses=(False,) * 4),
            },
            InvalidInputError,
            "invalid_input",
        ),
        ({"target_daily_dose": mg(0)}, InvalidInputError, "invalid_input"),
        (
            {**ITB, "target_daily_dose": mcg(0), "intrathecal": IntrathecalInput(mcg(50), D(6))},
            InvalidInputError,
            "invalid_input",
        ),
        ({"step_interval_days": 2}, IntervalTooShortError, "interval_too_short"),
        ({"step_interval_days": 0}, InvalidInputError, "invalid_input"),
        ({"doses_per_day": 5}, InvalidInputError, "invalid_input"),
        ({"patient": make_patient(weight_kg=D(0))}, InvalidInputError, "invalid_input"),
        ({"patient": make_patient(conditions=("gout",))}, InvalidInputError, "invalid_input"),
        ({"patient": make_patient(spinal_injury_level="T13")}, InvalidInputError, "invalid_input"),
        (
            {"patient": make_patient(brain_injury_date=date(2027, 1, 1))},
            InvalidInputError,
            "invalid_input",
        ),
        (
            {"patient": make_patient(birth_date=date(2027, 1, 1), age_years=None)},
            InvalidInputError,
            "invalid_input",
        ),
        ({"patient": make_patient(age_years=D(-1))}, InvalidInputError, "invalid_input"),
        ({"patient": make_patient(age_years=D(131))}, InvalidInputError, "invalid_input"),
        ({"patient": make_patient(age_years=None)}, MissingInputError, "missing_input"),
        (
            {"patient": make_patient(age_years=D(10), weight_kg=None)},
            MissingInputError,
            "missing_input",
        ),
        ({"patient": make_patient(height_cm=D(50))}, InvalidInputError, "invalid_input"),
    ],
)
def test_invalid_requests_raise_coded_errors(
    overrides: dict[str, object], error: type[TitrationError], code: str
) -> None:
    with pytest.raises(error) as raised:
        plan_for(**overrides)
    assert raised.value.code == code
    assert raised.value.message


def test_override_needs_a_reason() -> None:
    patient = make_patient(conditions=("epilepsy",))
    with pytest.raises(OverrideReasonMissingError) as raised:
        plan_for(patient=patient, overrides=(Override("epilepsy", "  "),))
    assert (raised.value.field, raised.value.message) == (
        "overrides", "The override of 'epilepsy' needs a reason."
    )  # fmt: skip


def test_hypersensitivity_can_never_be_overridden() -> None:
    patient = make_patient(conditions=("hypersensitivity",))
    assert plan_for(patient=patient).status is PlanStatus.BLOCKED
    with pytest.raises(OverrideNotAllowedError) as raised:
        plan_for(patient=patient, overrides=(Override("hypersensitivity", "tested"),))
    assert raised.value.code == "override_not_allowed"
    assert (raised.value.field, raised.value.message) == (
        "overrides", "'hypersensitivity' can never be overridden."
    )  # fmt: skip


@pytest.mark.parametrize(
    "overrides",
    [
        (Override("epilepsy", "x"),),
        (Override("driving", "x"),),
        (Override("dialysis", "x"), Override("dialysis", "y")),
    ],
)
def test_an_override_must_name_a_present_block_finding_once(
    overrides: tuple[Override, ...],
) -> None:
    patient = make_patient(dialysis=True)
    with pytest.raises(OverrideNotApplicableError) as raised:
        plan_for(patient=patient, overrides=overrides)
    assert (raised.value.field, raised.value.message) == (
        "overrides",
        f"{overrides[-1].code!r} is not a block finding of this plan (or is listed twice).",
    )


def test_one_override_does_not_lift_another_block() -> None:
    patient = make_patient(dialysis=True, conditions=("epilepsy",))
    plan = plan_for(patient=patient, overrides=(Override("dialysis", "renal team"),))
    assert plan.status is PlanStatus.BLOCKED


def test_unknown_medication_is_never_silent_and_class_codes_are_accepted() -> None:
    patient = make_patient(medications=("Zzzolid 5 mg", "BENZODIAZEPINE", "opioid"))
    found = {f.code: f for f in plan_for(patient=patient).findings}
    assert "Zzzolid 5 mg" in found["unrecognised_medication"].message
    assert {"cns_depressant", "opioid", "multiple_cns_depressants"} <= set(found)


def test_two_cns_depressants_are_major_one_alone_is_moderate() -> None:
    assert "multiple_cns_depressants" not in codes(
        plan_for(patient=make_patient(medications=("diazepam",)))
    )
    both = plan_for(patient=make_patient(medications=("diazepam", "tizanidine")))
    assert "multiple_cns_depressants" in codes(both)


def test_itb_child_spinal_origin_and_age_under_4_findings() -> None:
    child = make_patient(age_years=D(3), weight_kg=D(14), serum_creatinine=None)
    plan = plan_for(
        plan_type=PlanType.ITB_SCREENING, patient=child, indication=Indication.SPINAL_CORD_INJURY
    )
    assert {"itb_age_under_4", "itb_child_spinal_origin"} <= codes(plan)
    assert plan.status is PlanStatus.BLOCKED


def test_only_a_spinal_origin_in_a_child_is_flagged_and_a_high_injury_names_its_level() -> None:
    child = make_patient(age_years=D(8), weight_kg=D(25), serum_creatinine=None)

    def intrathecal(indication: Indication, level: str | None = None) -> set[str]:
        patient = replace(child, spinal_injury_level=level)
        return codes(
            plan_for(plan_type=PlanType.ITB_SCREENING, patient=patient, indication=indication)
        )

    assert "itb_child_spinal_origin" in intrathecal(Indication.SPINAL_CORD_INJURY)
    assert "itb_child_spinal_origin" in intrathecal(Indication.MULTIPLE_SCLEROSIS)
    for other in (Indication.CEREBRAL_PALSY, Indication.BRAIN_INJURY, Indication.PARKINSONISM):
        assert "itb_child_spinal_origin" not in intrathecal(other), other
    adult = make_patient(spinal_injury_level="T4")
    plan = plan_for(
        plan_type=PlanType.ITB_SCREENING, patient=adult, indication=Indication.SPINAL_CORD_INJURY
    )
    (high,) = (f for f in plan.findings if f.code == "itb_high_withdrawal_risk")
    assert high.message.endswith(" Injury level: T4.")


def test_itb_active_infection_blocks_only_intrathecal_plans() -> None:
    patient = make_patient(conditions=("active_infection",))
    assert plan_for(plan_type=PlanType.ITB_SCREENING, patient=patient).status is PlanStatus.BLOCKED
    assert plan_for(patient=patient).status is PlanStatus.READY


def test_old_brain_injury_does_not_block_itb() -> None:
    patient = make_patient(brain_injury_date=date(2025, 12, 1))
    plan = plan_for(
        plan_type=PlanType.ITB_SCREENING, patient=patient, indication=Indication.BRAIN_INJURY
    )
    assert "itb_recent_brain_injury" not in codes(plan)


def test_itb_titration_holds_at_the_target_and_flags_high_doses() -> None:
    capped = plan_for(
        **ITB, target_daily_dose=mcg(170), intrathecal=IntrathecalInput(mcg(75), D(6))
    )
    assert [s.daily_dose.value for s in capped.steps] == [150, 165, 170]
    assert (capped.steps[-1].start_day, capped.steps[-1].end_day) == (3, 7)
    high = plan_for(
        **ITB, target_daily_dose=mcg(1500),
        intrathecal=IntrathecalInput(mcg(100), D(6), step_percent=D(30), days=10),
    )  # fmt: skip
    assert "itb_high_dose" in codes(high)


def test_child_taper_uses_four_doses_of_solution() -> None:
    child = make_patient(age_years=D(6), weight_kg=D(20), serum_creatinine=None)
    plan = plan_for(plan_type=PlanType.ORAL_TAPER, patient=child, current_daily_dose=mg(8))
    assert [s.daily_dose.value for s in plan.steps] == [6, 4, 2]
    assert len(plan.steps[0].administrations) == 4
    assert "solution_only" in codes(plan)


def test_requested_solution_that_cannot_deliver_the_dose_is_refused() -> None:
    with pytest.raises(DoseNotDeliverableError):
        plan_for(
            plan_type=PlanType.ORAL_TAPER,
            current_daily_dose=mg("0.25"),
            formulation=Formulation.ORAL_SOLUTION,
        )


def test_itb_steps_never_fall_when_rounding_down_a_tiny_dose() -> None:
    plan = plan_for(
        **ITB, target_daily_dose=mcg("0.5"), intrathecal=IntrathecalInput(mcg(25), D(6))
    )
    assert [s.daily_dose.value for s in plan.steps] == [D("0.5")]


def test_a_child_without_a_weight_is_refused_on_the_weight() -> None:
    child = make_patient(age_years=D(6), weight_kg=None, serum_creatinine=None)
    with pytest.raises(MissingInputError) as raised:
        plan_for(patient=child, indication=Indication.CEREBRAL_PALSY)
    assert (raised.value.field, raised.value.message) == (
        "weight_kg", "Children are dosed by weight: weight_kg is required."
    )  # fmt: skip


def test_findings_name_the_facts_they_were_raised_for() -> None:
    def message(code: str, **request: object) -> str:
        (finding,) = (f for f in plan_for(**request).findings if f.code == code)
        return finding.message

    assert message("not_indicated", indication=Indication.PARKINSONISM).endswith(
        " Indication: parkinsonism."
    )
    lithium = make_patient(medications=("Lithium 400 mg",))
    (interaction,) = (f for f in plan_for(patient=lithium).findings if f.code == "lithium")
    assert interaction.message.endswith(" Entered: Lithium 400 mg.")
    on_baclofen = make_patient(medications=("Lioresal 10 mg",))
    (duplicate,) = (
        f for f in plan_for(patient=on_baclofen).findings if f.code == "baclofen_already_prescribed"
    )
    assert duplicate.message.endswith(" Entered: Lioresal 10 mg.")
    diazepam = make_patient(medications=("Diazepam 5 mg",))
    (depressant,) = (
        f for f in plan_for(patient=diazepam).findings if "Entered: Diazepam 5 mg." in f.message
    )
    assert depressant.code == "cns_depressant"


def test_renal_findings_name_the_clearance_or_say_it_is_not_known() -> None:
    def messages(patient: object) -> dict[str, str]:
        return {f.code: f.message for f in plan_for(patient=patient).findings}

    esrd = messages(make_patient(serum_creatinine=None, creatinine_clearance_ml_min=D(12)))
    assert esrd["end_stage_renal_disease"].endswith(" Creatinine clearance: 12 mL/min.")
    on_dialysis = messages(make_patient(serum_creatinine=None, dialysis=True))
    (dialysis,) = (m for m in on_dialysis.values() if "Creatinine clearance" in m)
    assert dialysis.endswith(" Creatinine clearance: not known.")


def test_an_older_adults_clearance_counts_as_impaired_only_below_60() -> None:
    def codes_at(clearance: str) -> set[str]:
        older = make_patient(
            age_years=D(70), serum_creatinine=None, creatinine_clearance_ml_min=D(clearance)
        )
        return codes(plan_for(patient=older))

    assert "elderly_renal_impairment" not in codes_at("60")
    assert "elderly_renal_impairment" in codes_at("59.9")


def test_an_age_in_years_counts_only_whole_months_lived() -> None:
    """1.99 years is 23 months (not 24): the infants' band, usually up to 20 mg/day."""
    toddler = make_patient(age_years=D("1.99"), weight_kg=D(14), serum_creatinine=None,
                           creatinine_clearance_ml_min=D(100))  # fmt: skip
    plan = plan_for(patient=toddler, indication=Indication.CEREBRAL_PALSY)
    assert plan.limits.target_daily_dose == mg(20)
