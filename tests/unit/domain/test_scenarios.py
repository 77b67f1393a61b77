"""Worked scenarios SC-01..SC-25 of CLINICAL_RULES.md §12, with the figures Part A sets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.domain.titration import (
    ENGINE_VERSION,
    CreatinineUnit,
    DoseUnit,
    Indication,
    IntrathecalInput,
    MilestoneKind,
    Override,
    PlanStatus,
    PlanType,
    PreparationForm,
    RenalBand,
    Route,
    Severity,
    Sex,
    TaperReason,
    TimeOfDay,
    WeightBasis,
)
from tests.unit.domain.builders import (
    codes,
    creatinine,
    daily_doses,
    day_ranges,
    make_patient,
    mcg,
    mg,
    plan_for,
    single_doses,
)

D = Decimal


def test_sc01_standard_adult_reaches_60_mg_on_day_10() -> None:
    plan = plan_for()
    assert plan.status is PlanStatus.READY
    # What the plan says it is: stored with it, and read by every export and print.
    assert (plan.plan_type, plan.route, plan.unit) == (
        PlanType.ORAL_TITRATION, Route.ORAL, DoseUnit.MG
    )  # fmt: skip
    assert plan.engine_version == ENGINE_VERSION
    assert plan.renal.crcl_ml_min == D("117.3")
    assert plan.renal.band is RenalBand.NORMAL
    assert daily_doses(plan) == [15, 30, 45, 60]
    assert single_doses(plan) == [[5] * 3, [10] * 3, [15] * 3, [20] * 3]
    assert day_ranges(plan) == [(1, 3), (4, 6), (7, 9), (10, 42)]
    assert plan.limits.max_daily_dose == mg(80)
    assert plan.limits.target_daily_dose == mg(60)
    assert [(m.day, m.date, m.kind) for m in plan.milestones] == [
        (43, date(2027, 1, 12), MilestoneKind.REVIEW)
    ]
    assert {"take_with_meals", "driving", "no_benefit_review", "do_not_stop_abruptly"} <= codes(
        plan
    )


def test_sc01_target_80_goes_to_four_doses_above_60_mg() -> None:
    plan = plan_for(target_daily_dose=mg(80))
    assert daily_doses(plan) == [15, 30, 45, 60, 75, 80]
    assert single_doses(plan)[-1] == [20, 20, 20, 20]
    assert single_doses(plan)[-2] == [20, 15, 20, 20]
    assert "above_usual_dose" in codes(plan)


def test_sc02_opioid_is_a_major_finding_on_the_standard_schedule() -> None:
    patient = make_patient(
        sex=Sex.FEMALE,
        age_years=D(30),
        weight_kg=D(60),
        serum_creatinine=creatinine("0.6"),
        medications=("oxycodone 10 mg BID",),
        spinal_injury_level="T10",
    )
    plan = plan_for(patient=patient, indication=Indication.SPINAL_CORD_INJURY)
    assert plan.renal.crcl_ml_min == D("129.9")
    assert daily_doses(plan) == [15, 30, 45, 60]
    opioid = next(f for f in plan.findings if f.code == "opioid")
    assert (opioid.severity, opioid.rule) == (Severity.MAJOR, "D-1")
    assert "oxycodone 10 mg BID" in opioid.message


def _sc03_patient(scr: str) -> object:
    return make_patient(
        age_years=D(58),
        weight_kg=D(90),
        height_cm=D(180),
        serum_creatinine=creatinine(scr),
        medications=("lisinopril",),
    )


def test_sc03_mild_renal_steps_10_20_30_40_50() -> None:
    plan = plan_for(patient=_sc03_patient("1.3"), target_daily_dose=mg(50))
    assert plan.renal.crcl_ml_min == D("78.8")
    assert plan.renal.weight_basis is WeightBasis.TOTAL
    assert plan.renal.ideal_weight_kg == D("75.0")
    assert daily_doses(plan) == [10, 20, 30, 40, 50]
    assert single_doses(plan)[0] == [5, 5]
    assert single_doses(plan)[1] == [5, 5, 10]  # larger part in the evening
    assert plan.limits.max_daily_dose == mg(50)
    assert {"mild_renal_impairment", "antihypertensive"} <= codes(plan)


def test_sc03_default_mild_target_is_40_mg() -> None:
    plan = plan_for(patient=_sc03_patient("1.3"))
    assert daily_doses(plan)[-1] == 40


def test_sc03_creatinine_1_28_gives_80_1_and_the_normal_schedule() -> None:
    plan = plan_for(patient=_sc03_patient("1.28"))
    assert plan.renal.crcl_ml_min == D("80.1")
    assert plan.renal.band is RenalBand.NORMAL
    assert daily_doses(plan) == [15, 30, 45, 60]


def test_sc04_elderly_moderate_ckd_after_stroke_starts_5_mg_once_daily_weekly_steps() -> None:
    patient = make_patient(
        sex=Sex.FEMALE,
        age_years=D(72),
        weight_kg=D(55),
        serum_creatinine=creatinine("1.1"),
        medications=("amlodipine",),
    )
    plan = plan_for(patient=patient, indication=Indication.STROKE)
    assert plan.renal.crcl_ml_min == D("40.1")
    assert plan.renal.band is RenalBand.MODERATE
    assert single_doses(plan)[0] == [5]
    assert plan.steps[0].administrations[0].time_of_day is TimeOfDay.EVENING
    assert daily_doses(plan) == [5, 10, 15, 20, 25, 30]
    assert [start for start, _ in day_ranges(plan)] == [1, 8, 15, 22, 29, 36]
    assert plan.limits.max_daily_dose == mg(40)
    assert {
        "elderly_renal_impairment",
        "cerebrovascular_disease",
        "moderate_renal_impairment",
        "cerebral_origin",
        "antihypertensive",
        "elderly",
    } <= codes(plan)


def test_sc04_creatinine_in_umol_per_litre_is_divided_by_88_4() -> None:
    patient = make_patient(
        sex=Sex.FEMALE,
        age_years=D(72),
        weight_kg=D(55),
        serum_creatinine=creatinine("97.24", CreatinineUnit.UMOL_L),
    )
    assert plan_for(patient=patient).renal.crcl_ml_min == D("40.1")


def test_sc05_elderly_normal_kidneys_rise_5_mg_a_day_every_3_days_to_40() -> None:
    patient = make_patient(age_years=D(70), weight_kg=D(75), serum_creatinine=creatinine("0.8"))
    plan = plan_for(patient=patient)
    assert plan.renal.crcl_ml_min == D("91.1")
    assert daily_doses(plan) == [10, 15, 20, 25, 30, 35, 40]
    assert single_doses(plan)[0] == [5, 5]
    assert plan.limits.max_daily_dose == mg(80)
    assert "elderly" in codes(plan)


SC06_PATIENT = make_patient(age_years=D(50), weight_kg=D(70), serum_creatinine=creatinine("3.5"))


def test_sc06_severe_ckd_is_blocked_without_steps() -> None:
    plan = plan_for(patient=SC06_PATIENT)
    assert plan.renal.crcl_ml_min == D("25.0")
    assert plan.status is PlanStatus.BLOCKED
    assert plan.steps == ()
    assert plan.milestones == ()
    assert plan.dispense == ()
    block = next(f for f in plan.findings if f.code == "severe_renal_impairment")
    assert (block.severity, block.overridable, block.rule) == (Severity.BLOCK, True, "R-REN-4")


def test_sc06_override_gives_5_mg_weekly_steps_capped_at_25() -> None:
    override = Override("severe_renal_impairment", "nephrology agrees, daily checks")
    plan = plan_for(patient=SC06_PATIENT, overrides=(override,))
    assert plan.status is PlanStatus.READY
    assert daily_doses(plan) == [5, 10, 15, 20]
    assert [start for start, _ in day_ranges(plan)] == [1, 8, 15, 22]
    assert plan.limits.max_daily_dose == mg(25)
    assert [(o.code, o.reason) for o in plan.overrides] == [
        ("severe_renal_impairment", "nephrology agrees, daily checks")
    ]


SC07_PATIENT = make_patient(age_years=D(68), dialysis=True, serum_creatinine=None)


def test_sc07_haemodialysis_is_blocked() -> None:
    plan = plan_for(patient=SC07_PATIENT, indication=Indication.SPINAL_CORD_INJURY)
    assert plan.renal.band is RenalBand.DIALYSIS
    assert plan.status is PlanStatus.BLOCKED
    assert {"dialysis", "elderly_renal_impairment"} <= codes(plan)


def test_sc07_override_holds_2_5_mg_a_day_of_solution_without_escalation() -> None:
    plan = plan_for(patient=SC07_PATIENT, overrides=(Override("dialysis", "renal team"),))
    assert daily_doses(plan) == [D("2.5")]
    assert day_ranges(plan) == [(1, 42)]
    assert plan.limits.max_daily_dose == mg(5)
    assert plan.steps[0].administrations[0].preparation.form is PreparationForm.ORAL_SOLUTION
    assert "solution_only" in codes(plan)


def test_sc08_obesity_uses_adjusted_weight_and_shows_all_three_clearances() -> None:
    patient = make_patient(
        sex=Sex.FEMALE,
        age_years=D(50),
        weight_kg=D(120),
        height_cm=D(160),
        serum_creatinine=creatinine("1.0"),
    )
    renal = plan_for(patient=patient).renal
    assert (renal.ideal_weight_kg, renal.adjusted_weight_kg) == (D("52.4"), D("79.4"))
    assert renal.weight_basis is WeightBasis.ADJUSTED
    assert renal.crcl_ml_min == D("84.4")
    assert renal.band is RenalBand.NORMAL
    assert renal.crcl_total_weight == D("127.5")
    assert renal.crcl_ideal_weight == D("55.7")


def test_sc09_epilepsy_blocks_until_overridden_and_levetiracetam_is_a_cns_depressant() -> None:
    patient = make_patient(
        sex=Sex.FEMALE,
        age_years=D(40),
        weight_kg=D(65),
        serum_creatinine=creatinine("0.8"),
        conditions=("epilepsy",),
        medications=("Levetiracetam",),
    )
    assert plan_for(patient=patient).status is PlanStatus.BLOCKED
    plan = plan_for(patient=patient, overrides=(Override("epilepsy", "seizure-free 10 years"),))
    assert plan.status is PlanStatus.READY
    assert daily_doses(plan) == [15, 30, 45, 60]
    assert {"epilepsy", "cns_depressant"} <= codes(plan)


def test_sc10_parkinsonian_rigidity_is_not_indicated_and_levodopa_is_major() -> None:
    patient = make_patient(
        age_years=D(74),
        weight_kg=D(78),
        serum_creatinine=creatinine("1.1"),
        medications=("levodopa/carbidopa",),
    )
    plan = plan_for(patient=patient, indication=Indication.PARKINSONISM)
    assert plan.status is PlanStatus.BLOCKED
    assert {"not_indicated", "levodopa", "elderly", "mild_renal_impairment"} <= codes(plan)


def test_sc11_rheumatic_spasm_is_blocked_and_naproxen_shown_as_major() -> None:
    patient = make_patient(age_years=D(55), weight_kg=D(85), medications=("naproxen",))
    plan = plan_for(patient=patient, indication=Indication.RHEUMATIC_DISEASE)
    assert plan.status is PlanStatus.BLOCKED
    nsaid = next(f for f in plan.findings if f.code == "nsaid")
    assert nsaid.severity is Severity.MAJOR


def test_sc12_lithium_tca_alcohol_and_psychiatric_findings() -> None:
    patient = make_patient(
        age_years=D(47),
        weight_kg=D(82),
        serum_creatinine=creatinine("1.0"),
        medications=("lithium", "amitriptyline 25 mg at night"),
        conditions=("psychiatric_disorder", "suicide_risk", "alcohol_use"),
    )
    plan = plan_for(patient=patient)
    assert plan.status is PlanStatus.READY
    severities = {f.code: f.severity for f in plan.findings}
    for code in ("lithium", "psychiatric_disorder", "suicide_risk", "alcohol"):
        assert severities[code] is Severity.MAJOR
    assert severities["tricyclic_antidepressant"] is Severity.MODERATE


def test_sc13_active_ulcer_blocks_and_history_is_moderate() -> None:
    patient = make_patient(
        sex=Sex.FEMALE,
        age_years=D(52),
        weight_kg=D(70),
        serum_creatinine=creatinine("0.9"),
        conditions=("peptic_ulcer_active",),
        medications=("ibuprofen",),
    )
    plan = plan_for(patient=patient)
    assert plan.renal.crcl_ml_min == D("80.8")
    assert plan.status is PlanStatus.BLOCKED
    assert "nsaid" in codes(plan)
    healed = plan_for(patient=make_patient(conditions=("peptic_ulcer_history",)))
    assert healed.status is PlanStatus.READY
    assert "peptic_ulcer_history" in codes(healed)


def test_sc14_pregnant_patient_tapers_60_to_45_30_15_and_stops_before_delivery() -> None:
    patient = make_patient(sex=Sex.FEMALE, age_years=D(35), weight_kg=D(70), pregnant=True)
    plan = plan_for(plan_type=PlanType.ORAL_TAPER, patient=patient, current_daily_dose=mg(60))
    assert daily_doses(plan) == [45, 30, 15]
    assert day_ranges(plan) == [(1, 5), (6, 10), (11, 15)]
    stop = plan.milestones[0]
    assert (stop.day, stop.kind) == (16, MilestoneKind.STOP)
    assert "before delivery" in stop.text
    assert "pregnancy" in codes(plan)


def test_sc15_breastfeeding_is_major_with_the_standard_schedule() -> None:
    patient = make_patient(sex=Sex.FEMALE, age_years=D(29), weight_kg=D(62), breastfeeding=True)
    plan = plan_for(patient=patient)
    assert daily_doses(plan) == [15, 30, 45, 60]
    assert next(f for f in plan.findings if f.code == "breastfeeding").severity is Severity.MAJOR


def _child(age: str, weight: int) -> object:
    return make_patient(age_years=D(age), weight_kg=D(weight), serum_creatinine=None)


def test_sc16_infant_is_blocked_then_0_6_mg_qid_solution_capped_at_16() -> None:
    blocked = plan_for(patient=_child("0.67", 8), indication=Indication.CEREBRAL_PALSY)
    assert blocked.status is PlanStatus.BLOCKED
    override = Override("age_under_1_year", "neurology")
    plan = plan_for(
        patient=_child("0.67", 8), indication=Indication.CEREBRAL_PALSY, overrides=(override,)
    )
    assert single_doses(plan)[0] == [D("0.6")] * 4
    assert single_doses(plan)[1] == [D("1.2")] * 4
    assert plan.limits.max_daily_dose == mg(16)
    assert daily_doses(plan)[-1] == 16
    assert "solution_only" in codes(plan)


def test_sc17_toddler_starts_0_8_mg_qid_steps_0_8_per_dose_to_5_mg_qid() -> None:
    plan = plan_for(patient=_child("1.5", 11), indication=Indication.CEREBRAL_PALSY)
    per_dose = [doses[0] for doses in single_doses(plan)]
    assert per_dose == [D(x) for x in ("0.8", "1.6", "2.4", "3.2", "4.0", "4.8", "5.0")]
    assert all(len(doses) == 4 for doses in single_doses(plan))
    assert [start for start, _ in day_ranges(plan)] == [1, 4, 7, 10, 13, 16, 19]
    assert plan.limits.max_daily_dose == mg(22)
    assert plan.limits.target_daily_dose == mg(20)
    preparation = plan.steps[0].administrations[0].preparation
    assert preparation.form is PreparationForm.ORAL_SOLUTION
    assert preparation.volume_ml == D("0.8")
    assert preparation.concentration.value == 1


def test_sc17_seven_day_option_gives_the_uk_timing() -> None:
    plan = plan_for(
        patient=_child("1.5", 11), indication=Indication.CEREBRAL_PALSY, step_interval_days=7
    )
    assert [start for start, _ in day_ranges(plan)][:3] == [1, 8, 15]


def test_sc18_young_child_starts_1_3_mg_qid_capped_36_target_30() -> None:
    plan = plan_for(patient=_child("5", 18), indication=Indication.CEREBRAL_PALSY)
    assert single_doses(plan)[0] == [D("1.3")] * 4
    assert single_doses(plan)[1] == [D("2.6")] * 4
    assert plan.limits.max_daily_dose == mg(36)
    assert daily_doses(plan)[-1] == 30


def test_sc19_ten_year_old_has_60_mg_cap_and_7_y_11_m_has_40() -> None:
    plan = plan_for(patient=_child("10", 30), indication=Indication.CEREBRAL_PALSY)
    assert single_doses(plan)[0] == [D("2.2")] * 4
    assert plan.limits.max_daily_dose == mg(60)
    younger = make_patient(birth_date=date(2019, 1, 2), age_years=None, weight_kg=D(30))
    plan = plan_for(patient=younger, indication=Indication.CEREBRAL_PALSY)  # 7 y 10 m
    assert plan.limits.max_daily_dose == mg(40)


def test_sc20_adolescent_over_33_kg_takes_5_mg_tid_tablets_capped_at_60() -> None:
    patient = make_patient(age_years=D(15), weight_kg=D(50), serum_creatinine=None)
    plan = plan_for(patient=patient, indication=Indication.SPINAL_CORD_INJURY)
    assert single_doses(plan)[0] == [5, 5, 5]
    assert daily_doses(plan) == [15, 30, 45, 60]
    assert plan.limits.max_daily_dose == mg(60)
    assert plan.steps[0].administrations[0].preparation.form is PreparationForm.TABLET


def test_sc20_same_adolescent_on_solution_takes_3_7_mg_qid() -> None:
    from app.domain.titration import Formulation

    patient = make_patient(age_years=D(15), weight_kg=D(50), serum_creatinine=None)
    plan = plan_for(patient=patient, formulation=Formulation.ORAL_SOLUTION)
    assert single_doses(plan)[0] == [D("3.7")] * 4
    assert "solution_only" not in codes(plan)


SC21_PATIENT = make_patient(age_years=D(34), weight_kg=D(75), spinal_injury_level="T4")


def test_sc21_screening_stops_at_the_first_positive_bolus_75_mcg_1_5_ml() -> None:
    plan = plan_for(
        plan_type=PlanType.ITB_SCREENING,
        patient=SC21_PATIENT,
        indication=Indication.SPINAL_CORD_INJURY,
        intrathecal=IntrathecalInput(screening_responses=(False, True)),
    )
    assert plan.unit.value == "mcg"
    assert daily_doses(plan) == [50, 75]
    assert day_ranges(plan) == [(1, 1), (2, 2)]
    administration = plan.steps[1].administrations[0]
    assert administration.time_of_day is TimeOfDay.BOLUS
    assert administration.preparation.volume_ml == D("1.5")
    assert "itb_high_withdrawal_risk" in codes(plan)
    assert "itb_child_spinal_origin" not in codes(plan)


def test_sc21_titration_starts_at_150_mcg_and_rises_10_percent_a_day() -> None:
    plan = plan_for(
        plan_type=PlanType.ITB_TITRATION,
        patient=SC21_PATIENT,
        indication=Indication.SPINAL_CORD_INJURY,
        intrathecal=IntrathecalInput(effective_bolus=mcg(75), effect_duration_hours=D(6)),
    )
    assert daily_doses(plan)[:3] == [150, 165, 181]
    assert len(plan.steps) == 7
    assert all(s.administrations[0].time_of_day is TimeOfDay.CONTINUOUS for s in plan.steps)
    withdrawal = next(f for f in plan.findings if f.code == "do_not_stop_abruptly")
    assert "Intrathecal withdrawal" in withdrawal.message


def test_sc21_thirty_percent_step_gives_195_mcg_on_day_2() -> None:
    plan = plan_for(
        plan_type=PlanType.ITB_TITRATION,
        patient=SC21_PATIENT,
        intrathecal=IntrathecalInput(
            effective_bolus=mcg(75), effect_duration_hours=D(6), step_percent=D(30)
        ),
    )
    assert daily_doses(plan)[1] == 195


def test_sc21_oral_wean_after_itb_is_60_40_20_then_stop_on_day_16() -> None:
    plan = plan_for(
        plan_type=PlanType.ORAL_TAPER,
        current_daily_dose=mg(80),
        taper_reason=TaperReason.ITB_TRANSITION,
    )
    assert daily_doses(plan) == [60, 40, 20]
    assert plan.milestones[0].day == 16
    assert "R-IT-T" in plan.milestones[0].text


def test_sc22_recent_brain_injury_blocks_itb_and_gives_the_reevaluation_date() -> None:
    patient = make_patient(sex=Sex.FEMALE, age_years=D(28), brain_injury_date=date(2026, 4, 1))
    plan = plan_for(
        plan_type=PlanType.ITB_TITRATION,
        patient=patient,
        indication=Indication.BRAIN_INJURY,
        intrathecal=IntrathecalInput(effective_bolus=mcg(50), effect_duration_hours=D(6)),
    )
    assert plan.status is PlanStatus.BLOCKED
    block = next(f for f in plan.findings if f.code == "itb_recent_brain_injury")
    assert "2027-04-01" in block.message
    oral = plan_for(patient=patient, indication=Indication.BRAIN_INJURY)
    assert oral.status is PlanStatus.READY
    assert "cerebral_origin" in codes(oral)


def test_sc23_child_with_long_acting_bolus_starts_at_1x_25_mcg_and_5_percent() -> None:
    plan = plan_for(
        plan_type=PlanType.ITB_TITRATION,
        patient=_child("7", 20),
        indication=Indication.CEREBRAL_PALSY,
        intrathecal=IntrathecalInput(effective_bolus=mcg(25), effect_duration_hours=D(10)),
    )
    assert daily_doses(plan)[:2] == [25, 26]  # 26.25 rounded down to whole micrograms
    assert "itb_age_under_4" not in codes(plan)


def test_sc24_no_response_at_100_mcg_blocks_the_implant() -> None:
    patient = make_patient(sex=Sex.FEMALE, age_years=D(55))
    plan = plan_for(
        plan_type=PlanType.ITB_SCREENING,
        patient=patient,
        intrathecal=IntrathecalInput(screening_responses=(False, False, False)),
    )
    assert plan.status is PlanStatus.BLOCKED
    assert plan.steps == ()
    assert "itb_screening_failed" in codes(plan)


def test_sc25_no_benefit_taper_from_80_mg_stops_on_day_16() -> None:
    patient = make_patient(sex=Sex.FEMALE, age_years=D(44), weight_kg=D(70))
    plan = plan_for(
        plan_type=PlanType.ORAL_TAPER,
        patient=patient,
        current_daily_dose=mg(80),
        taper_reason=TaperReason.NO_BENEFIT,
    )
    assert daily_doses(plan) == [60, 40, 20]
    assert day_ranges(plan) == [(1, 5), (6, 10), (11, 15)]
    assert plan.limits.max_daily_dose == mg(80)
    assert (plan.milestones[0].day, plan.milestones[0].kind) == (16, MilestoneKind.STOP)
