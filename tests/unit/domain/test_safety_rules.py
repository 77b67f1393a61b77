"""Worked tests for CLINICAL_RULES A.6.7–A.6.12 and the bugs of issue 11 in their area:
the intrathecal ceiling, the pump refill, the medication dictionary, end-stage kidneys,
children's kidneys and impossible inputs."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from app.domain.titration import (
    CreatinineUnit,
    IntrathecalInput,
    InvalidInputError,
    MilestoneKind,
    Override,
    PlanStatus,
    PlanType,
    RenalBand,
    RenalMethod,
    Severity,
    Sex,
    TargetAboveHardLimitError,
    TitrationError,
    build_plan,
    calculate_refill,
)
from app.domain.titration.medications import normalise
from app.domain.titration.safety import add_months
from tests.unit.domain.builders import (
    PROTOCOLS,
    START,
    codes,
    creatinine,
    daily_doses,
    make_patient,
    make_request,
    mcg,
    mg,
    plan_for,
)

ITB = {"plan_type": PlanType.ITB_TITRATION}
FILL = date(2026, 12, 1)


def finding(plan, code):  # type: ignore[no-untyped-def]
    return next(f for f in plan.findings if f.code == code)


def itb_plan(**overrides):  # type: ignore[no-untyped-def]
    intrathecal = overrides.pop(
        "intrathecal", IntrathecalInput(mcg(100), D(6), step_percent=D(30), days=90)
    )
    return plan_for(**ITB, intrathecal=intrathecal, **overrides)


# A.6.7 intrathecal ceiling ---------------------------------------------------------------


def test_itb_90_days_at_30_percent_holds_at_the_1000_mcg_ceiling() -> None:
    """Issue 11: this request reached 2.7 million mcg/day (or a 500)."""
    plan = itb_plan()
    assert max(daily_doses(plan)) == 1000
    assert plan.steps[-1].end_day == 90
    [milestone] = plan.milestones
    assert milestone.kind is MilestoneKind.CEILING_REACHED
    assert milestone.day == plan.steps[-1].start_day
    assert milestone.date == START + timedelta(days=milestone.day - 1)
    assert plan.limits.max_daily_dose == mcg(1000)
    assert "itb_high_dose" not in codes(plan)


def test_itb_below_the_ceiling_has_no_ceiling_milestone() -> None:
    plan = itb_plan(intrathecal=IntrathecalInput(mcg(50), D(6)))
    assert plan.milestones == ()
    assert max(daily_doses(plan)) < 1000


def test_itb_target_above_1000_is_itb_high_dose_major() -> None:
    plan = itb_plan(target_daily_dose=mcg(1500))
    assert max(daily_doses(plan)) == 1500
    high = finding(plan, "itb_high_dose")
    assert high.severity is Severity.MAJOR
    assert "Target: 1500 mcg/day" in high.message
    assert plan.milestones == ()


def test_itb_target_above_2000_is_refused_target_above_hard_limit() -> None:
    with pytest.raises(TargetAboveHardLimitError) as refused:
        itb_plan(target_daily_dose=mcg("2000.1"))
    assert refused.value.code == "target_above_hard_limit"
    assert refused.value.field == "target_daily_dose"
    assert max(daily_doses(itb_plan(target_daily_dose=mcg(2000)))) == 2000


def test_itb_step_above_20_percent_above_500_mcg_is_itb_large_step() -> None:
    large = finding(itb_plan(), "itb_large_step")
    assert large.severity is Severity.MODERATE
    assert "439 → 570 mcg/day" in large.message
    # 30 % steps that stay at or below 500 mcg/day, and 20 % steps above it, are not large.
    assert "itb_large_step" not in codes(itb_plan(target_daily_dose=mcg(500)))
    spinal_20 = IntrathecalInput(mcg(100), D(6), step_percent=D(20), days=90)
    assert "itb_large_step" not in codes(itb_plan(intrathecal=spinal_20))


# A.6.8 pump refill -------------------------------------------------------------------------


def refill(**overrides):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {
        "reservoir_ml": D(40), "alarm_volume_ml": D(2), "concentration_mcg_per_ml": D(500),
        "daily_dose": mcg(400), "fill_date": FILL, "max_refill_interval_days": 180,
        "protocols": PROTOCOLS,
    }  # fmt: skip
    arguments.update(overrides)
    return calculate_refill(**arguments)  # type: ignore[arg-type]


def test_refill_without_max_interval_is_refused_refill_interval_missing() -> None:
    """Issue 11: a refill date 760 days away was given without a maximum interval."""
    with pytest.raises(InvalidInputError) as refused:
        refill(max_refill_interval_days=None)
    assert (refused.value.code, refused.value.field) == (
        "refill_interval_missing",
        "max_refill_interval_days",
    )


def test_refill_window_never_opens_before_the_day_after_the_fill() -> None:
    """Issue 11: a refill window could open before the pump was filled."""
    result = refill(reservoir_ml=D(10), concentration_mcg_per_ml=D(50), daily_dose=mcg(400))
    assert result.window_start == result.window_end == FILL + timedelta(days=1)
    due = finding(result, "refill_due_within_buffer")
    assert due.severity is Severity.MAJOR
    assert "Days to the alarm: 1" in due.message


def test_a_normal_refill_carries_no_findings() -> None:
    assert refill().findings == ()


def test_diluted_concentration_is_info() -> None:
    result = refill(concentration_mcg_per_ml=D("499.9"))
    assert [(f.code, f.severity) for f in result.findings] == [
        ("diluted_concentration", Severity.INFO)
    ]


@pytest.mark.parametrize("concentration", [D("49.9"), D("2000.1"), D(5000)])
def test_concentration_outside_50_to_2000_is_refused(concentration: D) -> None:
    with pytest.raises(InvalidInputError) as refused:
        refill(concentration_mcg_per_ml=concentration)
    assert refused.value.code == "concentration_out_of_range"
    assert refused.value.field == "concentration_mcg_per_ml"


@pytest.mark.parametrize("reservoir", [D("9.9"), D("50.1"), D(100)])
def test_reservoir_outside_10_to_50_ml_is_refused(reservoir: D) -> None:
    with pytest.raises(InvalidInputError) as refused:
        refill(reservoir_ml=reservoir, alarm_volume_ml=D(1))
    assert (refused.value.code, refused.value.field) == ("reservoir_out_of_range", "reservoir_ml")


def test_refill_range_edges_are_accepted() -> None:
    for reservoir, concentration in ((D(10), D(50)), (D(50), D(2000))):
        assert refill(reservoir_ml=reservoir, concentration_mcg_per_ml=concentration)


# A.6.9 medications -------------------------------------------------------------------------


def medication_plan(*names: str, **overrides):  # type: ignore[no-untyped-def]
    patient = overrides.pop("patient", make_patient())
    return plan_for(patient=make_patient(**{**_fields(patient), "medications": names}), **overrides)


def _fields(patient):  # type: ignore[no-untyped-def]
    return {name: getattr(patient, name) for name in patient.__slots__}


def test_oxycodon_naloxon_counts_as_opioid() -> None:
    plan = medication_plan("Oxycodon/Naloxon 10/5 mg")
    assert "opioid" in codes(plan)
    assert "unrecognised_medication" not in codes(plan)


@pytest.mark.parametrize(
    "entered", ["Tilidin 50 mg", "Tilidin(+Naloxon)", "Targin", "co-codamol", "Valoron N 50/4"]
)
def test_combination_and_german_opioids_are_opioids(entered: str) -> None:
    plan = medication_plan(entered)
    assert "opioid" in codes(plan)
    assert "unrecognised_medication" not in codes(plan)


def test_co_codamol_is_codeine_and_paracetamol() -> None:
    match = PROTOCOLS.medications.classify("Co-Codamol 30/500 tablets")
    assert [c.substance for c in match.components] == ["codeine", "paracetamol"]
    assert match.recognised
    assert match.medication_class is not None
    assert match.medication_class.code == "opioid"


def test_mirtazapine_is_recognised_as_cns_depressant() -> None:
    plan = medication_plan("Mirtazapine 15 mg nocte")
    assert "cns_depressant" in codes(plan)
    assert "unrecognised_medication" not in codes(plan)


@pytest.mark.parametrize(
    "entered",
    ["baclofen", "Lioresal 10 mg", "Ozobax", "Lyvispah", "Fleqsuvy", "Gablofen",
     "Baclofen-ratiopharm 25 mg", "Baclofène"],
)  # fmt: skip
def test_baclofen_under_every_brand_is_baclofen_already_prescribed(entered: str) -> None:
    plan = medication_plan(entered)
    assert finding(plan, "baclofen_already_prescribed").severity is Severity.MAJOR
    screening = medication_plan(entered, plan_type=PlanType.ITB_SCREENING)
    assert "baclofen_already_prescribed" in codes(screening)


def test_baclofen_in_the_list_of_a_taper_is_expected() -> None:
    taper = medication_plan("Lioresal", plan_type=PlanType.ORAL_TAPER, current_daily_dose=mg(30))
    assert "baclofen_already_prescribed" not in codes(taper)


@pytest.mark.parametrize(
    "entered", ["paracetamol 1 g", "Pantoprazol 40 mg", "L-Thyroxin 50 µg", "Vitamin D3"]
)
def test_common_co_medication_is_recognised_and_raises_nothing(entered: str) -> None:
    assert codes(medication_plan(entered)) == codes(plan_for())


def test_unrecognised_medication_is_major_and_names_it() -> None:
    plan = medication_plan("Zauberpille 5 mg")
    unrecognised = finding(plan, "unrecognised_medication")
    assert unrecognised.severity is Severity.MAJOR
    assert "Interactions not checked for 'Zauberpille 5 mg'." in unrecognised.message


def test_a_known_drug_with_an_unknown_word_is_also_unrecognised() -> None:
    plan = medication_plan("paracetamol xyzcodone")
    assert "unrecognised_medication" in codes(plan)


def test_two_opioids_and_diazepam_need_acknowledgement() -> None:
    """Issue 11: "Oxycodon/Naloxon", "Tilidin" and diazepam needed nothing acknowledged."""
    plan = medication_plan("Oxycodon/Naloxon", "Tilidin", "diazepam")
    majors = {f.code for f in plan.findings if f.severity is Severity.MAJOR}
    assert {"opioid", "multiple_cns_depressants"} <= majors


def test_two_different_opioids_count_as_two() -> None:
    assert "multiple_cns_depressants" in codes(medication_plan("Targin", "Tilidin 50 mg"))
    # The same opioid twice is one substance.
    assert "multiple_cns_depressants" not in codes(medication_plan("oxycodone", "Oxycodon 5 mg"))


def test_alcohol_counts_as_a_cns_depressant() -> None:
    condition = make_patient(conditions=("alcohol_use",))
    assert "multiple_cns_depressants" in codes(medication_plan("zolpidem", patient=condition))
    assert "multiple_cns_depressants" in codes(medication_plan("Rượu", "tramadol"))
    assert "multiple_cns_depressants" not in codes(medication_plan("zolpidem"))


def test_matching_ignores_case_accents_punctuation_strengths_and_forms() -> None:
    assert normalise("  Đ-Ôxycodon/Naloxon 10/5 MG ") == "d oxycodon naloxon 10 5 mg"
    for entered in ("OXYCODONE", "oxycodone hydrochloride 10 mg retard BID", "Oxycodon-ratiopharm"):
        match = PROTOCOLS.medications.classify(entered)
        assert match.recognised, entered
        assert [c.substance for c in match.components] == ["oxycodone"]


def test_a_class_code_is_accepted_and_an_empty_entry_is_unrecognised() -> None:
    assert PROTOCOLS.medications.classify("cns_depressant").recognised
    empty = PROTOCOLS.medications.classify("10 mg")
    assert not empty.recognised
    assert empty.medication_class is None
    naloxone = PROTOCOLS.medications.classify("naloxone")
    assert naloxone.medication_class is not None
    assert naloxone.medication_class.finding is None


# A.6.10 end-stage renal disease --------------------------------------------------------------


def test_crcl_below_15_without_dialysis_takes_the_dialysis_row() -> None:
    esrd = make_patient(creatinine_clearance_ml_min=D("14.9"))
    blocked = plan_for(patient=esrd)
    assert blocked.status is PlanStatus.BLOCKED
    block = finding(blocked, "end_stage_renal_disease")
    assert (block.severity, block.overridable) == (Severity.BLOCK, True)
    assert "severe_renal_impairment" not in codes(blocked)
    plan = plan_for(
        patient=esrd, overrides=(Override("end_stage_renal_disease", "nephrology agrees"),)
    )
    assert daily_doses(plan) == [D("2.5")]
    assert plan.limits.max_daily_dose is not None
    assert plan.limits.max_daily_dose.value == 5
    assert plan.renal.band is RenalBand.SEVERE


def test_crcl_of_15_is_severe_not_end_stage() -> None:
    plan = plan_for(patient=make_patient(creatinine_clearance_ml_min=D(15)))
    assert "severe_renal_impairment" in codes(plan)
    assert "end_stage_renal_disease" not in codes(plan)


# A.6.11 children's kidneys --------------------------------------------------------------------


def child(**overrides):  # type: ignore[no-untyped-def]
    fields = {"age_years": D(6), "weight_kg": D(20), "height_cm": D(115),
              "serum_creatinine": creatinine("0.4")}  # fmt: skip
    fields.update(overrides)
    return make_patient(**fields)


def test_six_year_old_with_creatinine_and_height_gets_schwartz() -> None:
    """Issue 11: this child got "No serum creatinine"."""
    plan = plan_for(patient=child())
    assert plan.renal.method is RenalMethod.BEDSIDE_SCHWARTZ
    assert plan.renal.crcl_ml_min == D("118.7")  # 0.413 × 115 / 0.4 = 118.74
    assert plan.renal.band is RenalBand.NORMAL
    assert "renal_function_unknown" not in codes(plan)


def test_schwartz_takes_micromoles_and_bands_the_child() -> None:
    plan = plan_for(patient=child(serum_creatinine=creatinine("88.4", CreatinineUnit.UMOL_L)))
    assert plan.renal.crcl_ml_min == D("47.5")  # 0.413 × 115 / 1.0
    assert plan.renal.band is RenalBand.MODERATE


def test_an_entered_clearance_wins_over_schwartz() -> None:
    plan = plan_for(patient=child(creatinine_clearance_ml_min=D(70)))
    assert (plan.renal.method, plan.renal.crcl_ml_min) == (RenalMethod.ENTERED, D(70))


@pytest.mark.parametrize(
    ("patient", "missing"),
    [
        (child(height_cm=None), "Missing: height."),
        (child(serum_creatinine=None), "Missing: serum creatinine."),
        (child(serum_creatinine=None, height_cm=None), "Missing: serum creatinine and height."),
        (make_patient(weight_kg=None), "Missing: weight."),
        (make_patient(serum_creatinine=None), "Missing: serum creatinine."),
    ],
)
def test_renal_function_unknown_names_what_is_missing(patient, missing: str) -> None:  # type: ignore[no-untyped-def]
    plan = plan_for(patient=patient)
    assert missing in finding(plan, "renal_function_unknown").message


# A.6.12 impossible inputs ----------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["pregnant", "breastfeeding"])
def test_pregnancy_or_breastfeeding_for_a_male_is_refused(flag: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        plan_for(patient=make_patient(sex=Sex.MALE, **{flag: True}))
    assert refused.value.field == f"patient.{flag}"
    assert "pregnancy" in codes(plan_for(patient=make_patient(sex=Sex.FEMALE, pregnant=True)))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"weight_kg": D(9_999_999), "serum_creatinine": creatinine("0.0001")}, "weight_kg"),
        ({"serum_creatinine": creatinine("0.0001")}, "serum_creatinine"),
        ({"weight_kg": D("350.1")}, "weight_kg"),
        ({"height_cm": D(251)}, "height_cm"),
        ({"creatinine_clearance_ml_min": D("250.1")}, "creatinine_clearance_ml_min"),
        ({"creatinine_clearance_ml_min": D(0)}, "creatinine_clearance_ml_min"),
    ],
)
def test_a_preview_patient_outside_the_plausibility_limits_is_refused(
    fields: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        plan_for(patient=make_patient(**fields))
    assert refused.value.field == f"patient.{field}"


def test_an_age_above_130_is_refused() -> None:
    with pytest.raises(InvalidInputError) as refused:
        plan_for(patient=make_patient(age_years=D(131)))
    assert refused.value.field == "age_years"
    born_1900 = make_patient(age_years=None, birth_date=date(1900, 1, 1))
    with pytest.raises(InvalidInputError) as too_old:
        plan_for(patient=born_1900, start_date=date(2100, 1, 1))
    assert too_old.value.field == "birth_date"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"start_date": date(9999, 12, 31)}, "start_date"),
        ({"start_date": date(1899, 12, 31)}, "start_date"),
        ({"patient": make_patient(age_years=None, birth_date=date(1899, 12, 31))},
         "patient.birth_date"),
        ({"patient": make_patient(brain_injury_date=date(1800, 1, 1))},
         "patient.brain_injury_date"),
    ],
)  # fmt: skip
def test_dates_outside_1900_to_2200_are_refused(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(TitrationError) as refused:
        build_plan(make_request(**overrides), PROTOCOLS)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 1, 15), 12, date(2026, 1, 15)),  # R-IT-3: injury + 12 months
        (date(2025, 12, 31), 12, date(2026, 12, 31)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # the month's last day
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2025, 1, 31), 25, date(2027, 2, 28)),
    ],
)
def test_months_are_added_by_calendar_month_ending_on_the_months_last_day(
    day: date, months: int, expected: date
) -> None:
    assert add_months(day, months) == expected


def test_findings_name_the_patients_own_facts() -> None:
    plan = plan_for(
        patient=make_patient(
            medications=("oxycodone",), conditions=("alcohol_use",), serum_creatinine=None,
            creatinine_clearance_ml_min=D(40),
        ),
    )  # fmt: skip
    details = {f.code: f.message for f in plan.findings}
    assert details["multiple_cns_depressants"].endswith(" Entered: alcohol use, oxycodone.")
    assert details["opioid"].endswith(" Entered: oxycodone.")
    assert details["moderate_renal_impairment"].endswith(" Creatinine clearance: 40 mL/min.")
    infant = make_patient(
        age_years=D("0.5"), weight_kg=D(7), serum_creatinine=None,
        creatinine_clearance_ml_min=D(100),
    )  # fmt: skip
    young = {f.code: f.message for f in plan_for(patient=infant).findings}
    assert young["age_under_1_year"].endswith(" Age: 6 months.")
