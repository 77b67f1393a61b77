"""JSON shapes of /api/v1, apart from forms and ORM records.

Decimals travel as JSON numbers, never strings (API.md §2). Pydantic writes Decimal as a
string by default, so `ExactNumber` serialises it as an int or as the float whose shortest
repr is the same decimal text (values here have far fewer than 15 significant digits).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    field_validator,
)

from app.domain.patients import CONDITIONS
from app.domain.plausibility import EARLIEST_DATE, LATEST_DATE, date_in_range
from app.domain.text import refused_character_problem

T = TypeVar("T")


def decimal_to_json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


ExactNumber = Annotated[
    Decimal,
    Field(allow_inf_nan=False, max_digits=12, decimal_places=4),
    PlainSerializer(decimal_to_json_number, return_type=int | float, when_used="json"),
]

Sex = Literal["female", "male"]
Language = Literal["en", "de", "vi"]
Condition = Literal[CONDITIONS]  # type: ignore[valid-type]
CreatinineUnit = Literal["mg/dL", "umol/L"]
# Free text in a query string: anything but NUL (see InputModel._refuse_characters).
NO_NUL = r"^[^\x00]*$"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_only(value: object) -> object:
    # Pydantic also reads 0 or "86400" as Unix times (1970-01-01, 1970-01-02) and cuts a
    # datetime down to its date: a client sending either made a mistake that must not become
    # a birth date or a start date.
    is_text_date = isinstance(value, str) and _ISO_DATE.fullmatch(value)
    if not (is_text_date or (isinstance(value, date) and not isinstance(value, datetime))):
        raise ValueError("Give a date as YYYY-MM-DD.")
    return value


def _date_in_range(value: date) -> date:
    # A.6.12: a date outside 1900–2200 is a typing mistake (9999-12-31 was a 500).
    if not date_in_range(value):
        raise ValueError(
            f"Give a date between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}."
        )
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_only), AfterValidator(_date_in_range)]
# true or false only: Pydantic would also read 0, 1, "no" or "on" (dialysis changes the dose).
Flag = StrictBool


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_characters(cls, value: object) -> object:
        # NUL (PostgreSQL cannot store it) and bidirectional controls (they reorder what is
        # printed after a name): refused as a 422 naming the field (app/domain/text.py).
        problem = _refused_character_problem(value)
        if problem:
            raise ValueError(problem)
        return value


def _refused_character_problem(value: object) -> str | None:
    # Objects are left to their own model's validator, which names the exact field.
    if isinstance(value, str):
        return refused_character_problem(value)
    if isinstance(value, list | tuple):
        return next(filter(None, map(_refused_character_problem, value)), None)
    return None


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SerumCreatinine(InputModel):
    value: ExactNumber = Field(description="Serum creatinine, a JSON number.")
    unit: CreatinineUnit
    measured_on: IsoDate | None = Field(default=None, description="Date the sample was taken.")


class PatientFields(InputModel):
    birth_date: IsoDate | None = None
    age_years: ExactNumber | None = Field(
        default=None,
        description="Accepted for plan previews only; a stored patient needs birth_date.",
    )
    sex: Sex | None = None
    weight_kg: ExactNumber | None = None
    height_cm: ExactNumber | None = None
    serum_creatinine: SerumCreatinine | None = None
    creatinine_clearance_ml_min: ExactNumber | None = None
    dialysis: Flag = False
    conditions: list[Condition] = Field(default_factory=list, max_length=16)
    medications: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50
    )
    pregnant: Flag = False
    breastfeeding: Flag = False
    spinal_injury_level: str | None = Field(default=None, max_length=4, examples=["T4"])
    brain_injury_date: IsoDate | None = None


class PatientCreate(PatientFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "mrn": "DEMO-000123",
                    "given_name": "Testa",
                    "family_name": "Fictional",
                    "birth_date": "1981-05-02",
                    "sex": "female",
                    "weight_kg": 70,
                    "height_cm": 168,
                    "serum_creatinine": {"value": 0.9, "unit": "mg/dL"},
                    "medications": ["amlodipine"],
                }
            ]
        }
    )

    mrn: str = Field(min_length=1, max_length=40)
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    preferred_language: Language = "en"
    # Required for a stored patient, as the service enforces (the schema says so too).
    birth_date: IsoDate
    sex: Sex


class PatientUpdate(InputModel):
    """Every field optional: only the fields sent are changed; null clears a nullable field."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"weight_kg": 72.5}]})

    mrn: str | None = Field(default=None, min_length=1, max_length=40)
    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    preferred_language: Language | None = None
    birth_date: IsoDate | None = None
    sex: Sex | None = None
    weight_kg: ExactNumber | None = None
    height_cm: ExactNumber | None = None
    serum_creatinine: SerumCreatinine | None = None
    creatinine_clearance_ml_min: ExactNumber | None = None
    dialysis: Flag | None = None
    conditions: list[Condition] | None = Field(default=None, max_length=16)
    medications: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=50
    )
    pregnant: Flag | None = None
    breastfeeding: Flag | None = None
    spinal_injury_level: str | None = Field(default=None, max_length=4)
    brain_injury_date: IsoDate | None = None


class SerumCreatinineRead(OutputModel):
    value: ExactNumber
    unit: CreatinineUnit
    measured_on: date | None


class PatientRead(OutputModel):
    id: int
    version: int
    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    sex: Sex
    weight_kg: ExactNumber | None
    height_cm: ExactNumber | None
    serum_creatinine: SerumCreatinineRead | None
    creatinine_clearance_ml_min: ExactNumber | None
    dialysis: bool
    conditions: list[str]
    medications: list[str]
    pregnant: bool
    breastfeeding: bool
    spinal_injury_level: str | None
    brain_injury_date: date | None
    preferred_language: Language
    archived: bool
    archive_reason: str | None
    created_at: datetime
    updated_at: datetime


class ArchiveRequest(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "Moved away."}]})

    reason: str = Field(min_length=1, max_length=1000)


class Page(OutputModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null at the end."
    )
