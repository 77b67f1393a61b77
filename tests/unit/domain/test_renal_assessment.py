"""The renal assessment a plan reports (A.4, A.6.10, A.6.11): every figure and its method."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.titration import InvalidInputError
from app.domain.titration.plan import RenalAssessment, RenalBand, RenalMethod, WeightBasis
from tests.unit.domain.builders import creatinine, make_patient, plan_for

D = Decimal


def test_cockcroft_gault_on_total_weight_reports_its_method_basis_and_figure() -> None:
    # SC-01: (140 − 45) × 80 / (72 × 0.9) = 117.28 → 117.3 mL/min.
    assert plan_for().renal == RenalAssessment(
        D("117.3"), RenalBand.NORMAL, RenalMethod.COCKCROFT_GAULT, WeightBasis.TOTAL,
        crcl_total_weight=D("117.3"),
    )  # fmt: skip


def test_above_120_percent_of_ideal_weight_the_adjusted_weight_is_used_and_all_are_shown() -> None:
    # 175 cm man: IBW 50 + 2.3 × (68.9 − 60) = 70.5 kg; ABW 70.5 + 0.4 × 49.5 = 90.3 kg.
    patient = make_patient(weight_kg=D(120), height_cm=D(175))
    assert plan_for(patient=patient).renal == RenalAssessment(
        D("132.4"), RenalBand.NORMAL, RenalMethod.COCKCROFT_GAULT, WeightBasis.ADJUSTED,
        crcl_total_weight=D("175.9"), crcl_ideal_weight=D("103.4"),
        crcl_adjusted_weight=D("132.4"), ideal_weight_kg=D("70.5"), adjusted_weight_kg=D("90.3"),
    )  # fmt: skip


def test_a_child_is_assessed_by_bedside_schwartz_without_a_weight_basis() -> None:
    # 0.413 × 140 cm / 0.5 mg/dL = 115.64 → 115.6.
    child = make_patient(
        age_years=D(10), weight_kg=D(30), height_cm=D(140), serum_creatinine=creatinine("0.5")
    )
    assert plan_for(patient=child).renal == RenalAssessment(
        D("115.6"), RenalBand.NORMAL, RenalMethod.BEDSIDE_SCHWARTZ, WeightBasis.NONE
    )


def test_without_a_creatinine_there_is_no_method_and_no_figure() -> None:
    assert plan_for(patient=make_patient(serum_creatinine=None)).renal == RenalAssessment(
        None, RenalBand.UNKNOWN, RenalMethod.NONE, WeightBasis.NONE
    )


def test_a_height_too_small_for_the_ideal_weight_formula_is_refused_on_the_height() -> None:
    """Devine: 50 kg + 2.3 kg per inch above 5 feet is 0 kg at about 97.2 cm; taller is fine."""
    with pytest.raises(InvalidInputError) as refused:
        plan_for(patient=make_patient(height_cm=D(97), weight_kg=D(40)))
    assert (refused.value.field, str(refused.value)) == (
        "height_cm", "Height too small for the ideal body weight formula."
    )  # fmt: skip
    tall_enough = plan_for(patient=make_patient(height_cm=D(100), weight_kg=D(40)))
    assert tall_enough.renal.ideal_weight_kg == D("2.6")
