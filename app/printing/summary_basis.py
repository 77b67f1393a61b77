"""What a stored plan was computed from, as labelled facts: the plan inputs, the patient data
used, the renal estimate with its method, band and weight basis, and the limits.

Read from the version's own `input_json` and `plan_json`, never from the patient record as it
is today: a later edit of the patient must not change what an old version says it used.
Labels are English, marked for the catalogues (`N_`) and translated where they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from app.printing.doses import dose_text
from app.printing.i18n import N_
from app.printing.numbers import format_number, format_quantity

# Clinician documents are English, worded like the patient documents (app.printing.doses).
LANGUAGE = "en"
PLAN_TYPE_LABELS = {
    "oral_titration": N_("Oral titration"),
    "oral_taper": N_("Oral taper"),
    "itb_screening": N_("Intrathecal screening"),
    "itb_titration": N_("Intrathecal titration"),
}
_METHODS = {"cockcroft_gault": "Cockcroft–Gault estimate", "entered": "entered by the clinician",
            "bedside_schwartz": "bedside Schwartz estimate (child: 0.413 × height / creatinine)",
            "none": "not known"}  # fmt: skip
_BASES = {"total": "total body weight", "adjusted": "adjusted body weight",
          "ideal": "ideal body weight", "none": "no weight (not estimated)"}  # fmt: skip
_BANDS = {"normal": "normal", "mild": "mild impairment", "moderate": "moderate impairment",
          "severe": "severe impairment", "dialysis": "dialysis",
          "unknown": "unknown (not enough data to estimate)"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str


def format_dose(dose: dict[str, str] | None, *, per_day: bool = False) -> str:
    """'5 mg', '0.5 mg', '100 mcg/day'; '' when there is no dose."""
    if not dose:
        return ""
    return dose_text(dose, LANGUAGE) + ("/day" if per_day else "")


def plan_inputs(given: dict[str, Any]) -> tuple[Fact, ...]:
    itb = given.get("intrathecal") or {}
    responses = itb.get("screening_responses") or []
    candidates = (
        (N_("Plan type"), PLAN_TYPE_LABELS.get(given["plan_type"], given["plan_type"])),
        (N_("Indication"), _words(given["indication"])),
        (N_("Setting"), _words(given.get("setting"))),
        (N_("Start date (day 1)"), given["start_date"]),
        (N_("Target daily dose"), format_dose(given.get("target_daily_dose"), per_day=True)),
        (N_("Current daily dose"), format_dose(given.get("current_daily_dose"), per_day=True)),
        (N_("Formulation"), _words(given.get("formulation"))),
        (N_("Days between steps"), _plain(given.get("step_interval_days"))),
        (N_("Doses per day"), _plain(given.get("doses_per_day"))),
        (N_("Reason for the taper"), _words(given.get("taper_reason"))),
        (N_("Effective screening bolus"), format_dose(itb.get("effective_bolus"))),
        (N_("Effect duration"), _hours(itb.get("effect_duration_hours"))),
        (N_("Daily step"), _percent(itb.get("step_percent"))),
        (N_("Titration days"), _plain(itb.get("days"))),
        (N_("Screening responses"), _responses(responses)),
    )
    return tuple(Fact(label, value) for label, value in candidates if value)


def patient_data(given: dict[str, Any]) -> tuple[Fact, ...]:
    facts = given["patient"]
    creatinine = facts.get("serum_creatinine")
    candidates = (
        (N_("Birth date"), facts.get("birth_date") or ""),
        (N_("Age at start"), _age(facts, given["start_date"])),
        (N_("Sex"), _words(facts.get("sex"))),
        (N_("Weight"), _measure(facts.get("weight_kg"), "kg")),
        (N_("Height"), _measure(facts.get("height_cm"), "cm")),
        (
            N_("Serum creatinine"),
            format_quantity(Decimal(creatinine["value"]), creatinine["unit"], LANGUAGE)
            if creatinine
            else "not given",
        ),
        (N_("Entered creatinine clearance"),
         _measure(facts.get("creatinine_clearance_ml_min"), "mL/min")),
        (N_("Dialysis"), "yes" if facts.get("dialysis") else "no"),
        (N_("Conditions"), _listed(facts.get("conditions"))),
        (N_("Co-medication"), _listed(facts.get("medications"))),
        (N_("Pregnant"), "yes" if facts.get("pregnant") else "no"),
        (N_("Breastfeeding"), "yes" if facts.get("breastfeeding") else "no"),
        (N_("Spinal injury level"), facts.get("spinal_injury_level") or ""),
        (N_("Brain injury date"), facts.get("brain_injury_date") or ""),
    )  # fmt: skip
    return tuple(Fact(label, value) for label, value in candidates if value)


def renal_facts(renal: dict[str, Any]) -> tuple[Fact, ...]:
    crcl = renal.get("crcl_ml_min")
    facts = [
        Fact(N_("Creatinine clearance used"), _measure(crcl, "mL/min") or "not known"),
        Fact(N_("Method"), _METHODS.get(renal["method"], _words(renal["method"]))),
        Fact(N_("Renal band"), _BANDS.get(renal["band"], _words(renal["band"]))),
        Fact(N_("Weight basis"), _BASES.get(renal["weight_basis"], _words(renal["weight_basis"]))),
    ]
    # The alternatives show how much the weight basis mattered (CLINICAL_RULES SC-08).
    alternatives = (
        (N_("CrCl on total body weight"), renal.get("crcl_total_weight"), "mL/min"),
        (N_("CrCl on ideal body weight"), renal.get("crcl_ideal_weight"), "mL/min"),
        (N_("CrCl on adjusted body weight"), renal.get("crcl_adjusted_weight"), "mL/min"),
        (N_("Ideal body weight"), renal.get("ideal_weight_kg"), "kg"),
        (N_("Adjusted body weight"), renal.get("adjusted_weight_kg"), "kg"),
    )
    facts.extend(Fact(label, _measure(value, unit)) for label, value, unit in alternatives if value)
    return tuple(facts)


def limit_facts(limits: dict[str, Any]) -> tuple[Fact, ...]:
    return (
        Fact(N_("Maximum daily dose (cap)"),
             format_dose(limits.get("max_daily_dose"), per_day=True) or "none set"),
        Fact(N_("Target daily dose"),
             format_dose(limits.get("target_daily_dose"), per_day=True) or "none set"),
    )  # fmt: skip


def _age(facts: dict[str, Any], start: str) -> str:
    if facts.get("age_years") is not None:
        return f"{format_number(Decimal(facts['age_years']), LANGUAGE)} years"
    if not facts.get("birth_date"):
        return ""
    born, day_one = date.fromisoformat(facts["birth_date"]), date.fromisoformat(start)
    months = (day_one.year - born.year) * 12 + day_one.month - born.month - (day_one.day < born.day)
    # Small children are dosed by age bands in months (CLINICAL_RULES R-PED).
    if months < 24:
        return f"{months} months"
    return f"{months // 12} years"


def _measure(value: str | None, unit: str) -> str:
    return format_quantity(Decimal(value), unit, LANGUAGE) if value is not None else ""


def _hours(value: str | None) -> str:
    return _measure(value, "hours")


def _percent(value: str | None) -> str:
    return f"{format_number(Decimal(value), LANGUAGE)} % per day" if value is not None else ""


def _plain(value: object) -> str:
    return "" if value is None else str(value)


def _words(value: str | None) -> str:
    return (value or "").replace("_", " ")


def _listed(values: list[str] | None) -> str:
    return ", ".join(_words(v) for v in values) if values else "none"


def _responses(responses: list[bool]) -> str:
    return ", ".join(
        f"bolus {n}: {'positive' if positive else 'negative'}"
        for n, positive in enumerate(responses, start=1)
    )
