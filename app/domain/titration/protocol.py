"""Protocols as data: loading, validating and fingerprinting the packaged JSON files.

Every dosing number the engine uses is a protocol parameter with its source tag
(CLINICAL_RULES.md §11). Decimals are JSON strings so they parse exactly; ratios such as
renal factors are written "2/3" and applied as multiply-then-divide so no precision is lost.
Each protocol reports ``{id, version, sha256}`` (of the file bytes) so a stored plan can be
reproduced against the exact rules that produced it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any, Final, Literal, TypeVar

from app.domain.titration.errors import ProtocolError

ParameterKind = Literal[
    "decimal", "integer", "ratio", "decimal_list", "text_list", "decimal_set", "pump_models"
]

_D: Final = "decimal"
_I: Final = "integer"
_R: Final = "ratio"
_DL: Final = "decimal_list"
_TL: Final = "text_list"
# A stock list: distinct positive decimals, possibly empty (nothing of that kind stocked).
_DS: Final = "decimal_set"
# Structured: a non-empty list of {"model": text, "reservoir_ml": decimal > 0}.
_PM: Final = "pump_models"
_DOSING = ("start", "step", "interval", "target", "cap")

# Required parameters of each protocol and their kinds: the loader refuses a file that
# lacks one, carries an unknown one, or gives a value of the wrong kind.
PARAMETER_SCHEMA: Mapping[str, Mapping[str, ParameterKind]] = {
    "oral-adult": {
        "adult_age_years": _I, "start_mg_day": _D, "step_mg_day": _D, "interval_days": _I,
        "target_mg_day": _D, "cap_outpatient_mg_day": _D, "cap_inpatient_mg_day": _D,
        "soft_alert_mg_day": _D, "doses_per_day_up_to_threshold": _I,
        "doses_per_day_above_threshold": _I, "doses_per_day_threshold_mg_day": _D,
        "max_doses_per_day": _I, "last_step_until_day": _I, "remainder_priority": _TL,
        "max_single_dose_mg": _D, "few_doses_max_mg_day": _D, "review_by_day": _I,
    },
    "oral-older-adult": {
        "elderly_age_years": _I, "start_mg_day": _D, "step_mg_day": _D, "interval_days": _I,
        "target_mg_day": _D, "cap_mg_day": _D, "soft_alert_mg_day": _D,
        "renal_alert_crcl_ml_min": _D,
    },
    "oral-renal": {
        **{name: _D for name in (
            "creatinine_umol_per_mg_dl", "cg_age_constant", "cg_denominator", "cg_female_factor",
            "ibw_male_base_kg", "ibw_female_base_kg", "ibw_kg_per_inch", "ibw_base_height_in",
            "cm_per_inch", "obesity_ratio", "abw_fraction", "normal_above_ml_min",
            "mild_from_ml_min", "moderate_from_ml_min",
        )},
        "end_stage_below_ml_min": _D, "schwartz_constant": _D,
        **{f"{band}_factor": _R for band in ("mild", "moderate", "severe", "dialysis")},
        **{
            f"{band}_{part}{'_days' if part == 'interval' else '_mg_day'}": (
                _I if part == "interval" else _D
            )
            for band in ("mild", "moderate", "severe", "dialysis")
            for part in _DOSING
        },
    },
    "oral-paediatric": {
        "start_mg_kg_day": _D, "step_mg_kg_day": _D, "interval_days": _I, "doses_per_day": _I,
        "max_mg_kg_day": _D, "cap_age_boundary_years": _I, "cap_below_boundary_mg_day": _D,
        "cap_from_boundary_mg_day": _D, "infant_block_below_months": _I,
        "band_from_months": _DL, "band_upper_mg_day": _DL,
    },
    "oral-taper": {
        "step_fraction": _D, "min_total_days": _I, "min_level_days": _I,
        "min_total_days_lowest": _I, "min_total_days_highest": _I,
    },
    "itb": {
        "screening_boluses_adult_mcg": _DL, "screening_boluses_child_mcg": _DL,
        "screening_concentration_mcg_ml": _D, "max_bolus_mcg": _D, "min_gap_hours": _I,
        "initial_multiplier": _D, "long_effect_multiplier": _D, "long_effect_hours": _D,
        "spinal_step_percent_default": _D, "spinal_step_percent_min": _D,
        "spinal_step_percent_max": _D, "cerebral_step_percent_default": _D,
        "cerebral_step_percent_min": _D, "cerebral_step_percent_max": _D, "default_days": _I,
        "dose_granularity_mcg": _D, "high_dose_mcg_day": _D, "min_age_years": _I,
        "brain_injury_wait_months": _I, "child_below_years": _I, "high_withdrawal_levels": _TL,
        "refill_buffer_min_days": _I, "refill_buffer_max_days": _I,
        "ceiling_mcg_day": _D, "hard_limit_mcg_day": _D, "large_step_percent": _D,
        "large_step_above_mcg_day": _D, "pump_concentration_min_mcg_ml": _D,
        "pump_concentration_max_mcg_ml": _D, "pump_concentration_undiluted_mcg_ml": _D,
        "reservoir_min_ml": _D, "reservoir_max_ml": _D,
    },
    # The rules for oral formulations (rounding, weight); what is stocked is the formulary's.
    "formulations": {
        "tablet_step_mg": _D, "solution_step_adult_mg": _D, "solution_step_child_mg": _D,
        "tablet_min_weight_kg": _D,
    },
    "formulary": {
        "tablet_strengths_mg": _DS, "scored_tablet_strengths_mg": _DS,
        "oral_solution_mg_per_ml": _DS, "intrathecal_pump_mcg_per_ml": _DS,
        "pump_models": _PM,
    },
}  # fmt: skip


T = TypeVar("T")
MAX_REMEMBERED = 4096


class Derived:
    """Values computed from one loaded protocol (or protocol set) alone, each made once.

    A loaded protocol never changes, so what follows from it alone (a dose form, a regimen
    row) is made on first use and kept with it; the engine stays a pure function. Keys are
    few and fixed by the code (never by a request), so the store cannot grow without bound.
    """

    __slots__ = ("_remembered", "_values")

    def __init__(self) -> None:
        self._values: dict[object, Any] = {}
        self._remembered: dict[object, Any] = {}

    def get(self, key: object, make: Callable[[], T]) -> T:
        try:
            value: T = self._values[key]
        except KeyError:
            value = self._values[key] = make()
        return value

    def remember(self, key: object, make: Callable[[], T]) -> T:
        """Like ``get`` for keys made of request values (a patient's renal facts): at most
        ``MAX_REMEMBERED`` are kept; at the limit the memory starts again."""
        try:
            value: T = self._remembered[key]
        except KeyError:
            if len(self._remembered) >= MAX_REMEMBERED:
                self._remembered.clear()
            value = self._remembered[key] = make()
        return value


@dataclass(frozen=True, slots=True)
class PumpModel:
    """A pump the clinic implants and refills, with its reservoir volume (mL)."""

    model: str
    reservoir_ml: Decimal

    @property
    def label(self) -> str:
        return f"{self.model}, {self.reservoir_ml.normalize():f} mL"


@dataclass(frozen=True, slots=True)
class ProtocolRef:
    """Identity of one protocol file: id, version and the sha256 of its bytes."""

    id: str
    version: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Ratio:
    """An exact factor such as 2/3, applied as ``amount × numerator ÷ denominator``."""

    numerator: Decimal
    denominator: Decimal

    def apply(self, amount: Decimal) -> Decimal:
        return amount * self.numerator / self.denominator


@dataclass(frozen=True, slots=True)
class Protocol:
    """One validated parameter protocol; look-ups cannot fail after loading."""

    ref: ProtocolRef
    title: str
    decimals: Mapping[str, Decimal]
    integers: Mapping[str, int]
    ratios: Mapping[str, Ratio]
    decimal_lists: Mapping[str, tuple[Decimal, ...]]
    text_lists: Mapping[str, tuple[str, ...]]
    sources: Mapping[str, str]
    pumps: Mapping[str, tuple[PumpModel, ...]] = field(default_factory=dict)
    derived: Derived = field(default_factory=Derived, init=False, repr=False, compare=False)

    def decimal(self, name: str) -> Decimal:
        return self.decimals[name]

    def integer(self, name: str) -> int:
        return self.integers[name]

    def ratio(self, name: str) -> Ratio:
        return self.ratios[name]


def read_protocol_bytes(protocol_id: str) -> bytes:
    """Read a packaged protocol file (the engine's only I/O)."""
    package = resources.files("app.domain.titration.protocols")
    return package.joinpath(f"{protocol_id}.json").read_bytes()


def parse_document(protocol_id: str, raw: bytes) -> tuple[ProtocolRef, str, dict[str, object]]:
    """Decode a protocol file and check its envelope: id, version, title."""
    try:
        document = json.loads(raw)
    except ValueError as error:
        raise ProtocolError(f"{protocol_id}: not valid JSON ({error})") from error
    if not isinstance(document, dict) or document.get("id") != protocol_id:
        raise ProtocolError(f"{protocol_id}: the file must be an object with id {protocol_id!r}")
    version, title = document.get("version"), document.get("title")
    if not isinstance(version, str) or not version or not isinstance(title, str):
        raise ProtocolError(f"{protocol_id}: version and title must be non-empty strings")
    ref = ProtocolRef(protocol_id, version, hashlib.sha256(raw).hexdigest())
    return ref, title, document


def parse_protocol(protocol_id: str, raw: bytes) -> Protocol:
    """Parse and validate one parameter protocol against ``PARAMETER_SCHEMA``."""
    ref, title, document = parse_document(protocol_id, raw)
    schema = PARAMETER_SCHEMA[protocol_id]
    parameters = document.get("parameters")
    if not isinstance(parameters, dict) or set(parameters) != set(schema):
        given = set(parameters) if isinstance(parameters, dict) else set()
        raise ProtocolError(
            f"{protocol_id}: parameters missing {sorted(set(schema) - given)}, "
            f"unknown {sorted(given - set(schema))}"
        )
    values = _Values()
    for name, kind in schema.items():
        value, values.sources[name] = _unpack_parameter(protocol_id, name, parameters[name])
        values.store(f"{protocol_id}.{name}", name, kind, value)
    if protocol_id == "formulary":
        _check_formulary(values.decimal_lists)
    if protocol_id == "oral-paediatric":
        _check_age_bands(values.decimal_lists)
    return Protocol(
        ref, title, values.decimals, values.integers, values.ratios,
        values.decimal_lists, values.text_lists, values.sources, values.pumps,
    )  # fmt: skip


def _check_formulary(stock: Mapping[str, tuple[Decimal, ...]]) -> None:
    """Tablets are stocked (the oral plans start from them); a scored strength is a stocked one."""
    if not stock["tablet_strengths_mg"]:
        raise ProtocolError("formulary.tablet_strengths_mg: stock at least one tablet strength")
    unstocked = set(stock["scored_tablet_strengths_mg"]) - set(stock["tablet_strengths_mg"])
    if unstocked:
        listed = ", ".join(f"{strength:f}" for strength in sorted(unstocked))
        raise ProtocolError(
            f"formulary.scored_tablet_strengths_mg: {listed} mg is not a stocked tablet strength"
        )


def _check_age_bands(lists: Mapping[str, tuple[Decimal, ...]]) -> None:
    """R-PED-6: every child falls in one age band, and each band has its usual upper dose (an
    edited protocol that broke this would fail every child's plan, not be refused)."""
    starts, uppers = lists["band_from_months"], lists["band_upper_mg_day"]
    if len(starts) != len(uppers):
        raise ProtocolError(
            "oral-paediatric.band_upper_mg_day: one usual upper dose per age band "
            f"({len(starts)} bands in band_from_months, {len(uppers)} doses)"
        )
    if starts[0] != 0 or list(starts) != sorted(set(starts)):
        raise ProtocolError(
            "oral-paediatric.band_from_months: the bands start at 0 months and ascend"
        )


@dataclass(slots=True)
class _Values:
    """Typed parameter values collected while one file is validated."""

    decimals: dict[str, Decimal] = field(default_factory=dict)
    integers: dict[str, int] = field(default_factory=dict)
    ratios: dict[str, Ratio] = field(default_factory=dict)
    decimal_lists: dict[str, tuple[Decimal, ...]] = field(default_factory=dict)
    text_lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    pumps: dict[str, tuple[PumpModel, ...]] = field(default_factory=dict)

    def store(self, where: str, name: str, kind: ParameterKind, value: object) -> None:
        if kind == _D:
            self.decimals[name] = _decimal(where, value)
        elif kind == _I:
            self.integers[name] = _integer(where, value)
        elif kind == _R:
            self.ratios[name] = _ratio(where, value)
        elif kind == _DL:
            self.decimal_lists[name] = tuple(_decimal(where, item) for item in _list(where, value))
        elif kind == _DS:
            self.decimal_lists[name] = _decimal_set(where, value)
        elif kind == _PM:
            self.pumps[name] = tuple(_pump(where, item) for item in _list(where, value))
        else:
            self.text_lists[name] = tuple(_text(where, item) for item in _list(where, value))


def _unpack_parameter(protocol_id: str, name: str, entry: object) -> tuple[object, str]:
    if not isinstance(entry, dict) or set(entry) != {"value", "unit", "source"}:
        raise ProtocolError(f"{protocol_id}.{name}: needs exactly value, unit and source")
    source, unit = entry["source"], entry["unit"]
    if not isinstance(source, str) or not source.strip() or not isinstance(unit, str):
        raise ProtocolError(f"{protocol_id}.{name}: unit and a non-empty source are required")
    return entry["value"], source


def _list(where: str, value: object) -> list[object]:
    if not isinstance(value, list) or not value:
        raise ProtocolError(f"{where}: expected a non-empty list")
    return value


def _decimal_set(where: str, value: object) -> tuple[Decimal, ...]:
    """Distinct positive decimals in ascending order; an empty list means none stocked."""
    if not isinstance(value, list):
        raise ProtocolError(f"{where}: expected a list (empty when none is stocked)")
    numbers = [_decimal(where, item) for item in value]
    if any(number == 0 for number in numbers) or len(set(numbers)) != len(numbers):
        raise ProtocolError(f"{where}: expected distinct numbers above 0")
    return tuple(sorted(numbers))


def _pump(where: str, item: object) -> PumpModel:
    if not isinstance(item, dict) or set(item) != {"model", "reservoir_ml"}:
        raise ProtocolError(f"{where}: each pump needs exactly model and reservoir_ml")
    reservoir = _decimal(where, item["reservoir_ml"])
    if reservoir == 0:
        raise ProtocolError(f"{where}: a reservoir holds more than 0 mL")
    model = _text(where, item["model"]).strip()
    if not model:
        raise ProtocolError(f"{where}: a pump needs its model's name")
    return PumpModel(model, reservoir)


def _ratio(where: str, value: object) -> Ratio:
    numerator, _, denominator = _text(where, value).partition("/")
    ratio = Ratio(_decimal(where, numerator), _decimal(where, denominator or "1"))
    if ratio.denominator == 0:
        raise ProtocolError(f"{where}: the denominator must not be 0")
    return ratio


def _integer(where: str, value: object) -> int:
    number = _decimal(where, value)
    if number != number.to_integral_value():
        raise ProtocolError(f"{where}: expected a whole number, got {number}")
    return int(number)


def _text(where: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _decimal(where: str, value: object) -> Decimal:
    try:
        number = Decimal(_text(where, value))
    except InvalidOperation as error:
        raise ProtocolError(f"{where}: {value!r} is not a decimal number") from error
    if not number.is_finite() or number < 0:
        raise ProtocolError(f"{where}: expected a finite number ≥ 0, got {value!r}")
    return number
