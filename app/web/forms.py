"""Patient form: raw strings in, PatientFacts (or field messages) out.

Type errors ("abc" as a weight) are caught here; plausibility rules live in the domain and
come back from the service, so both kinds of message show next to their field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from starlette.datastructures import FormData

from app.domain.patients import CONDITIONS, FieldProblem, PatientFacts

TEXT_FIELDS = (
    "mrn", "given_name", "family_name", "birth_date", "sex", "weight_kg", "height_cm",
    "serum_creatinine_value", "serum_creatinine_unit", "serum_creatinine_on",
    "creatinine_clearance_ml_min", "spinal_injury_level", "brain_injury_date",
    "preferred_language", "medications", "indication",
)  # fmt: skip
FLAG_FIELDS = ("dialysis", "pregnant", "breastfeeding")


def parse_decimal(raw: str) -> Decimal | None:
    """A typed number ("72,5" or "72.5"); None when empty; ValueError when not a finite number."""
    text = raw.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(raw) from exc
    if not value.is_finite():
        raise ValueError(raw)
    return value


def parse_version(raw: object) -> int:
    """The record version a form was rendered from (its hidden `version` field)."""
    text = str(raw or "")
    # A form without a version cannot prove it saw the current record: treat it as stale.
    return int(text) if text.isdigit() else -1


@dataclass
class PatientForm:
    """What the user typed, kept verbatim so a re-rendered form loses nothing."""

    values: dict[str, str]
    flags: dict[str, bool]
    conditions: list[str]
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> PatientForm:
        values = dict.fromkeys(TEXT_FIELDS, "")
        values["preferred_language"] = "en"
        values["serum_creatinine_unit"] = "mg/dL"
        return cls(values, dict.fromkeys(FLAG_FIELDS, False), [])

    @classmethod
    def from_form(cls, form: FormData) -> PatientForm:
        values = {name: str(form.get(name, "")).strip() for name in TEXT_FIELDS}
        flags = {name: form.get(name) == "on" for name in FLAG_FIELDS}
        conditions = [str(c) for c in form.getlist("conditions")]
        return cls(values, flags, conditions)

    @classmethod
    def from_facts(cls, facts: PatientFacts) -> PatientForm:
        def text(value: object) -> str:
            return "" if value is None else str(value)

        values = {
            "mrn": facts.mrn, "given_name": facts.given_name, "family_name": facts.family_name,
            "birth_date": facts.birth_date.isoformat(), "sex": facts.sex,
            "weight_kg": text(facts.weight_kg), "height_cm": text(facts.height_cm),
            "serum_creatinine_value": text(facts.serum_creatinine_value),
            "serum_creatinine_unit": facts.serum_creatinine_unit or "mg/dL",
            "serum_creatinine_on": text(facts.serum_creatinine_on),
            "creatinine_clearance_ml_min": text(facts.creatinine_clearance_ml_min),
            "spinal_injury_level": text(facts.spinal_injury_level),
            "brain_injury_date": text(facts.brain_injury_on),
            "preferred_language": facts.preferred_language,
            "medications": "\n".join(facts.medications),
            "indication": facts.indication or "",
        }  # fmt: skip
        flags = {
            "dialysis": facts.dialysis,
            "pregnant": facts.pregnant,
            "breastfeeding": facts.breastfeeding,
        }
        return cls(values, flags, list(facts.conditions))

    def add_problems(self, problems: tuple[FieldProblem, ...]) -> None:
        for problem in problems:
            self.errors.setdefault(_FORM_FIELD.get(problem.field, problem.field), problem.message)

    def to_facts(self) -> PatientFacts | None:
        """The facts, or None with `errors` filled when a value does not even parse."""
        v = self.values
        birth_date = self._date("birth_date", required=True)
        facts_kwargs = {
            "weight_kg": self._decimal("weight_kg"),
            "height_cm": self._decimal("height_cm"),
            "serum_creatinine_value": self._decimal("serum_creatinine_value"),
            "serum_creatinine_on": self._date("serum_creatinine_on"),
            "creatinine_clearance_ml_min": self._decimal("creatinine_clearance_ml_min"),
            "brain_injury_on": self._date("brain_injury_date"),
        }
        unknown = set(self.conditions) - set(CONDITIONS)
        if unknown:
            self.errors["conditions"] = "Unknown condition."
        if self.errors or birth_date is None:
            return None
        return PatientFacts(
            mrn=v["mrn"],
            given_name=v["given_name"],
            family_name=v["family_name"],
            birth_date=birth_date,
            sex=v["sex"],
            serum_creatinine_unit=v["serum_creatinine_unit"]
            if v["serum_creatinine_value"]
            else None,
            dialysis=self.flags["dialysis"],
            pregnant=self.flags["pregnant"],
            breastfeeding=self.flags["breastfeeding"],
            conditions=tuple(dict.fromkeys(self.conditions)),
            medications=tuple(
                line.strip() for line in v["medications"].splitlines() if line.strip()
            ),
            spinal_injury_level=v["spinal_injury_level"].upper() or None,
            preferred_language=v["preferred_language"],
            indication=v["indication"] or None,
            **facts_kwargs,  # type: ignore[arg-type]
        )

    def _decimal(self, name: str) -> Decimal | None:
        try:
            value = parse_decimal(self.values[name])
        except ValueError:
            value = Decimal("NaN")
        if value is not None and (value.is_nan() or value.as_tuple().exponent < -4):  # type: ignore[operator]
            self.errors[name] = "Enter a number, e.g. 72.5."
            return None
        return value

    def _date(self, name: str, *, required: bool = False) -> date | None:
        raw = self.values[name]
        if not raw:
            if required:
                self.errors[name] = "Enter a date (YYYY-MM-DD)."
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.errors[name] = "Enter a date as YYYY-MM-DD."
            return None


# Domain problems name facts; the form shows them next to the input that holds the value.
_FORM_FIELD = {"serum_creatinine": "serum_creatinine_value", "brain_injury_on": "brain_injury_date"}
