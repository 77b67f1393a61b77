"""Properties of A.6.7–A.6.12 over the whole input space (Hypothesis, derandomised): the ITB
ceiling and target, the refill window, renal bands, medication matching, and no input in
the request schema's ranges ending in anything but a plan or a TitrationError."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.titration import (
    CONDITIONS,
    CreatinineUnit,
    Dose,
    DoseUnit,
    Formulation,
    Indication,
    IntrathecalInput,
    Patient,
    PlanRequest,
    PlanType,
    RenalBand,
    SerumCreatinine,
    Setting,
    Sex,
    TitrationError,
    band_for,
    build_plan,
    calculate_refill,
)
from tests.unit.domain.builders import PROTOCOLS, START, codes, make_patient, make_request
from tests.unit.domain.test_properties import EXAMPLES

# 300 examples, or TITRATE_HYPOTHESIS_EXAMPLES (bench/mutation.py lowers it per mutant).
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
BAND_ORDER = (RenalBand.SEVERE, RenalBand.MODERATE, RenalBand.MILD, RenalBand.NORMAL)


def decimals(low: str, high: str, places: int = 4) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        Decimal(low), Decimal(high), places=places, allow_nan=False, allow_infinity=False
    )


# The API schema's ranges (ExactNumber: 12 digits, 4 places), extremes included.
SCHEMA_NUMBER = st.sampled_from(
    [Decimal("0.0001"), Decimal("99999999.9999"), Decimal(0), Decimal("9999999")]
) | decimals("0", "99999999.9999")  # fmt: skip
SCHEMA_DATE = st.dates(date(1, 1, 1), date(9999, 12, 31)) | st.sampled_from(
    [date(1900, 1, 1), date(2200, 12, 31), date(1899, 12, 31), date(2201, 1, 1)]
)
MEDICATIONS = ("Oxycodon/Naloxon 10/5 mg", "Targin", "Tilidin", "Lioresal", "Rượu",
               "paracetamol", "Zauberpille", "diazepam", "mirtazapine")  # fmt: skip

schema_patients = st.builds(
    Patient,
    sex=st.sampled_from(Sex),
    birth_date=st.none() | SCHEMA_DATE,
    age_years=st.none() | SCHEMA_NUMBER,
    weight_kg=st.none() | SCHEMA_NUMBER,
    height_cm=st.none() | SCHEMA_NUMBER,
    serum_creatinine=st.none()
    | st.builds(SerumCreatinine, SCHEMA_NUMBER, st.sampled_from(CreatinineUnit)),
    creatinine_clearance_ml_min=st.none() | SCHEMA_NUMBER,
    dialysis=st.booleans(),
    conditions=st.lists(st.sampled_from(CONDITIONS), max_size=3, unique=True).map(tuple),
    medications=st.lists(st.sampled_from(MEDICATIONS), max_size=4).map(tuple),
    pregnant=st.booleans(),
    breastfeeding=st.booleans(),
    spinal_injury_level=st.none() | st.sampled_from(("C5", "T4", "L1")),
    brain_injury_date=st.none() | SCHEMA_DATE,
)


def schema_dose(unit: DoseUnit) -> st.SearchStrategy[Dose | None]:
    return st.none() | st.builds(Dose, SCHEMA_NUMBER, st.just(unit))


@st.composite
def schema_requests(draw: st.DrawFn) -> PlanRequest:
    plan_type = draw(st.sampled_from(PlanType))
    unit = DoseUnit.MCG if plan_type.value.startswith("itb") else DoseUnit.MG
    intrathecal = draw(
        st.none()
        | st.builds(
            IntrathecalInput,
            effective_bolus=schema_dose(DoseUnit.MCG),
            effect_duration_hours=st.none() | decimals("0.0001", "72"),
            step_percent=st.none() | decimals("0.0001", "100"),
            days=st.none() | st.integers(1, 90),
            screening_responses=st.lists(st.booleans(), max_size=6).map(tuple),
        )
    )
    return PlanRequest(
        plan_type=plan_type,
        start_date=draw(SCHEMA_DATE),
        indication=draw(st.sampled_from(Indication)),
        patient=draw(schema_patients),
        setting=draw(st.sampled_from(Setting)),
        target_daily_dose=draw(schema_dose(unit)),
        current_daily_dose=draw(schema_dose(DoseUnit.MG)),
        step_interval_days=draw(st.none() | st.integers(1, 60)),
        doses_per_day=draw(st.none() | st.integers(1, 6)),
        formulation=draw(st.none() | st.sampled_from(Formulation)),
        intrathecal=intrathecal,
    )


@SETTINGS
@given(request=schema_requests())
def test_no_input_in_the_schema_ends_in_anything_but_a_plan_or_a_titration_error(
    request: PlanRequest,
) -> None:
    try:
        plan = build_plan(request, PROTOCOLS)
    except TitrationError as refused:
        message = refused.message
        assert message
        return
    for step in plan.steps:
        assert step.daily_dose.value.is_finite()
        assert step.end_date <= date(9999, 12, 31)


@SETTINGS
@given(
    bolus=decimals("1", "100", 0),
    hours=decimals("0.5", "24", 1),
    percent=st.none() | decimals("10", "30", 1),
    days=st.integers(1, 90),
    target=st.none() | decimals("1", "2000", 0),
    cerebral=st.booleans(),
)
def test_no_itb_step_above_the_ceiling_or_the_target(
    bolus: Decimal,
    hours: Decimal,
    percent: Decimal | None,
    days: int,
    target: Decimal | None,
    cerebral: bool,
) -> None:
    indication = Indication.CEREBRAL_PALSY if cerebral else Indication.SPINAL_CORD_INJURY
    if cerebral and percent is not None:
        percent = min(percent, Decimal(15))
    plan = build_plan(
        make_request(
            plan_type=PlanType.ITB_TITRATION, indication=indication,
            target_daily_dose=None if target is None else Dose(target, DoseUnit.MCG),
            intrathecal=IntrathecalInput(Dose(bolus, DoseUnit.MCG), hours, percent, days),
        ),
        PROTOCOLS,
    )  # fmt: skip
    doses = [step.daily_dose.value for step in plan.steps]
    limit = Decimal(1000) if target is None else target
    assert max(doses) <= limit
    assert doses == sorted(doses)  # never lowered
    assert plan.steps[-1].end_day == days
    ceiling = [m for m in plan.milestones if m.kind.value == "ceiling_reached"]
    assert bool(ceiling) == (target is None and doses[-1] == 1000)


@SETTINGS
@given(
    reservoir=decimals("10", "50", 1),
    alarm_fraction=decimals("0", "0.9", 2),
    concentration=decimals("50", "2000", 1),
    dose=decimals("0.1", "5000", 1),
    fill=st.dates(date(1900, 1, 1), date(2150, 12, 31)),
    interval=st.integers(6, 365),
    buffer=st.integers(3, 5),
)
def test_the_refill_window_never_opens_before_the_day_after_the_fill(
    reservoir: Decimal,
    alarm_fraction: Decimal,
    concentration: Decimal,
    dose: Decimal,
    fill: date,
    interval: int,
    buffer: int,
) -> None:
    result = calculate_refill(
        reservoir_ml=reservoir, alarm_volume_ml=reservoir * alarm_fraction,
        concentration_mcg_per_ml=concentration, daily_dose=Dose(dose, DoseUnit.MCG),
        fill_date=fill, max_refill_interval_days=interval, protocols=PROTOCOLS,
        refill_buffer_days=buffer,
    )  # fmt: skip
    assert fill + timedelta(days=1) <= result.window_start <= result.window_end
    assert result.refill_due_date <= fill + timedelta(days=interval)
    within_buffer = any(f.code == "refill_due_within_buffer" for f in result.findings)
    assert within_buffer == (result.days_to_alarm < buffer)


@SETTINGS
@given(low=decimals("0.1", "250", 1), high=decimals("0.1", "250", 1))
def test_the_renal_band_is_monotone_in_clearance(low: Decimal, high: Decimal) -> None:
    low, high = sorted((low, high))
    renal = PROTOCOLS.oral_renal
    assert BAND_ORDER.index(band_for(low, renal)) <= BAND_ORDER.index(band_for(high, renal))


@SETTINGS
@given(
    clearance=decimals("0.1", "250", 1),
    age=st.sampled_from([Decimal(6), Decimal(45), Decimal(80)]),
)
def test_end_stage_is_exactly_a_clearance_below_15_without_dialysis(
    clearance: Decimal, age: Decimal
) -> None:
    plan = build_plan(
        make_request(
            patient=make_patient(
                age_years=age, weight_kg=Decimal(30), creatinine_clearance_ml_min=clearance
            )
        ),
        PROTOCOLS,
    )
    assert ("end_stage_renal_disease" in codes(plan)) == (clearance < 15)
    assert "severe_renal_impairment" not in codes(plan) or 15 <= clearance < 30


@SETTINGS
@given(
    height=decimals("20", "250", 1),
    scr=decimals("0.05", "30", 2),
    age=decimals("1", "17.9", 1),
)
def test_children_with_creatinine_and_height_always_get_a_schwartz_estimate(
    height: Decimal, scr: Decimal, age: Decimal
) -> None:
    patient = make_patient(
        age_years=age, weight_kg=Decimal(20), height_cm=height,
        serum_creatinine=SerumCreatinine(scr, CreatinineUnit.MG_DL),
    )  # fmt: skip
    plan = build_plan(make_request(patient=patient), PROTOCOLS)
    assert plan.renal.method.value == "bedside_schwartz"
    assert "renal_function_unknown" not in codes(plan)


@SETTINGS
@given(
    name=st.sampled_from(
        ["oxycodone", "Tilidin", "Targin", "co-codamol", "Lioresal", "mirtazapine", "amlodipin"]
    ),
    strength=st.sampled_from(["", " 10 mg", " 5/2,5 mg", " 20 mg retard", " 1-0-1"]),
    upper=st.booleans(),
)
def test_matching_ignores_case_and_strengths(name: str, strength: str, upper: bool) -> None:
    entered = (name.upper() if upper else name) + strength
    plain, varied = PROTOCOLS.medications.classify(name), PROTOCOLS.medications.classify(entered)
    assert varied.recognised
    assert varied.components == plain.components


@SETTINGS
@given(sex=st.sampled_from(Sex), pregnant=st.booleans(), breastfeeding=st.booleans())
def test_a_male_patient_is_never_planned_as_pregnant_or_breastfeeding(
    sex: Sex, pregnant: bool, breastfeeding: bool
) -> None:
    request = make_request(
        patient=make_patient(sex=sex, pregnant=pregnant, breastfeeding=breastfeeding)
    )
    try:
        plan = build_plan(request, PROTOCOLS)
    except TitrationError as refused:
        field = refused.field
        assert sex is Sex.MALE
        assert pregnant or breastfeeding
        assert field in ("patient.pregnant", "patient.breastfeeding")
        return
    assert sex is Sex.FEMALE or not (pregnant or breastfeeding)
    assert ("pregnancy" in codes(plan)) == pregnant
    assert plan.steps[0].start_date == START
