"""Renal function (A.4, A.6.10–11, R-IN-2..5): Cockcroft–Gault for adults, bedside Schwartz
for children, bands with exact edges, and end-stage renal disease without dialysis."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from app.domain.titration.age import Age
from app.domain.titration.errors import InvalidInputError
from app.domain.titration.model import CreatinineUnit, Patient, SerumCreatinine, Sex
from app.domain.titration.plan import RenalAssessment, RenalBand, RenalMethod, WeightBasis
from app.domain.titration.protocol import Protocol
from app.domain.titration.units import round_measurement


def assess_renal(
    patient: Patient, age: Age, *, adult_age_years: int, renal: Protocol
) -> RenalAssessment:
    """Renal function for dosing: an entered clearance wins; else Cockcroft–Gault for adults
    and bedside Schwartz under ``adult_age_years`` (A.6.11).

    The dialysis flag always gives the ``dialysis`` band. Missing data gives ``unknown``
    (``missing_renal_inputs`` names what is missing).

    Remembered per patient facts with the renal protocol: every preview of a planning session
    asks again for the same patient (equal Decimals give equal, quantized results).
    """
    facts = (
        patient.sex, patient.weight_kg, patient.height_cm, patient.serum_creatinine,
        patient.creatinine_clearance_ml_min, patient.dialysis, age.months, adult_age_years,
    )  # fmt: skip
    return renal.derived.remember(
        ("assess_renal", facts),
        lambda: _assess_renal(patient, age, adult_age_years=adult_age_years, renal=renal),
    )


def _assess_renal(
    patient: Patient, age: Age, *, adult_age_years: int, renal: Protocol
) -> RenalAssessment:
    if patient.creatinine_clearance_ml_min is not None:
        crcl = round_measurement(patient.creatinine_clearance_ml_min)
        assessment = RenalAssessment(
            crcl, band_for(crcl, renal), RenalMethod.ENTERED, WeightBasis.NONE
        )
    elif missing_renal_inputs(patient, age, adult_age_years=adult_age_years):
        assessment = RenalAssessment(None, RenalBand.UNKNOWN, RenalMethod.NONE, WeightBasis.NONE)
    elif age.is_under(adult_age_years):
        # A.4: no adult formula under 18; A.6.11: bedside Schwartz from height and creatinine.
        assert patient.serum_creatinine is not None  # nosec B101 - checked by missing_renal_inputs
        assessment = _bedside_schwartz(patient, patient.serum_creatinine, renal)
    else:
        assert patient.serum_creatinine is not None  # nosec B101 - checked by missing_renal_inputs
        assessment = _cockcroft_gault(patient, patient.serum_creatinine, age, renal)
    if patient.dialysis:
        return replace(assessment, band=RenalBand.DIALYSIS)
    return assessment


def missing_renal_inputs(patient: Patient, age: Age, *, adult_age_years: int) -> tuple[str, ...]:
    """What an estimate from creatinine still needs (empty when it can be made): creatinine
    and weight for adults (Cockcroft–Gault), creatinine and height for children (Schwartz).
    Only asked when no clearance was entered (an entered clearance needs nothing)."""
    measure = (
        ("height", patient.height_cm)
        if age.is_under(adult_age_years)
        else ("weight", patient.weight_kg)
    )
    given = (("serum creatinine", patient.serum_creatinine), measure)
    return tuple(name for name, value in given if value is None)


def is_end_stage(assessment: RenalAssessment, renal: Protocol) -> bool:
    """A.6.10: a clearance below 15 mL/min without dialysis (dosed as the dialysis row)."""
    return (
        assessment.band is RenalBand.SEVERE
        and assessment.crcl_ml_min is not None
        and assessment.crcl_ml_min < renal.decimal("end_stage_below_ml_min")
    )


def band_for(crcl: Decimal, renal: Protocol) -> RenalBand:
    """R-IN-5 at one decimal place: 80.0 mild, 80.1 normal, 49.9 moderate, 29.9 severe."""
    if crcl > renal.decimal("normal_above_ml_min"):
        return RenalBand.NORMAL
    if crcl >= renal.decimal("mild_from_ml_min"):
        return RenalBand.MILD
    if crcl >= renal.decimal("moderate_from_ml_min"):
        return RenalBand.MODERATE
    return RenalBand.SEVERE


def _creatinine_mg_dl(creatinine: SerumCreatinine, renal: Protocol) -> Decimal:
    if creatinine.unit is CreatinineUnit.UMOL_L:
        return creatinine.value / renal.decimal("creatinine_umol_per_mg_dl")  # R-IN-2
    return creatinine.value


def _bedside_schwartz(
    patient: Patient, creatinine: SerumCreatinine, renal: Protocol
) -> RenalAssessment:
    """A.6.11: eGFR = 0.413 × height (cm) / creatinine (mg/dL) (Schwartz et al. 2009)."""
    height = patient.height_cm
    assert height is not None  # nosec B101 - checked by missing_renal_inputs
    egfr = round_measurement(
        renal.decimal("schwartz_constant") * height / _creatinine_mg_dl(creatinine, renal)
    )
    return RenalAssessment(
        egfr, band_for(egfr, renal), RenalMethod.BEDSIDE_SCHWARTZ, WeightBasis.NONE
    )


def _cockcroft_gault(
    patient: Patient, creatinine: SerumCreatinine, age: Age, renal: Protocol
) -> RenalAssessment:
    """R-IN-3: (140 − age) × weight / (72 × SCr mg/dL), × 0.85 for women."""
    weight_kg = patient.weight_kg
    # bandit B101: checked by missing_renal_inputs; narrows the type.
    assert weight_kg is not None  # nosec B101
    scr_mg_dl = _creatinine_mg_dl(creatinine, renal)
    factor = (renal.decimal("cg_age_constant") - age.years) / (
        renal.decimal("cg_denominator") * scr_mg_dl
    )
    if patient.sex is Sex.FEMALE:
        factor *= renal.decimal("cg_female_factor")

    def clearance(weight: Decimal) -> Decimal:
        return round_measurement(factor * weight)

    ideal = _ideal_weight(patient, renal)
    if ideal is None:
        crcl = clearance(weight_kg)
        return RenalAssessment(
            crcl, band_for(crcl, renal), RenalMethod.COCKCROFT_GAULT, WeightBasis.TOTAL, crcl
        )
    adjusted = round_measurement(ideal + renal.decimal("abw_fraction") * (weight_kg - ideal))
    # R-IN-4 default policy: adjusted weight only when total weight exceeds 120 % of ideal.
    obese = weight_kg > renal.decimal("obesity_ratio") * ideal
    basis = WeightBasis.ADJUSTED if obese else WeightBasis.TOTAL
    crcl = clearance(adjusted if obese else weight_kg)
    return RenalAssessment(
        crcl,
        band_for(crcl, renal),
        RenalMethod.COCKCROFT_GAULT,
        basis,
        crcl_total_weight=clearance(weight_kg),
        crcl_ideal_weight=clearance(ideal),
        crcl_adjusted_weight=clearance(adjusted),
        ideal_weight_kg=ideal,
        adjusted_weight_kg=adjusted,
    )


def _ideal_weight(patient: Patient, renal: Protocol) -> Decimal | None:
    """Devine ideal body weight (R-IN-4), height converted to inches, shown to 0.1 kg."""
    if patient.height_cm is None:
        return None
    base = "ibw_male_base_kg" if patient.sex is Sex.MALE else "ibw_female_base_kg"
    inches = patient.height_cm / renal.decimal("cm_per_inch")
    ideal = renal.decimal(base) + renal.decimal("ibw_kg_per_inch") * (
        inches - renal.decimal("ibw_base_height_in")
    )
    if ideal <= 0:
        raise InvalidInputError(
            "Height too small for the ideal body weight formula.", field="height_cm"
        )
    return round_measurement(ideal)
