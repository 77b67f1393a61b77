"""What a pharmacist sees while changing a protocol (issue 17): each parameter with its unit,
kind, current value and source and the bounds an edit must keep, and the difference between
two versions of a document, value and source of every parameter.

Pure: documents come in as their stored JSON text; the service stores and checks drafts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.domain.titration.protocol import PARAMETER_SCHEMA, ParameterKind
from app.domain.titration.protocol_limits import ALLOWED_RANGES, HARD_LIMITS, Bound

LIST_KINDS = frozenset({"decimal_list", "text_list", "decimal_set"})
LIST_SEPARATOR = ","
# The formulary's pump models, typed on one line: "SynchroMed II = 20; Prometra = 20".
PUMP_SEPARATOR = ";"
PUMP_RESERVOIR = "="

_KIND_HINTS: dict[str, str] = {
    "decimal": "a number, decimal point",
    "integer": "a whole number",
    "ratio": "a fraction such as 2/3",
    "decimal_list": "numbers separated by commas",
    "text_list": "words separated by commas",
    "decimal_set": "numbers separated by commas (empty: none stocked)",
    "pump_models": "pump model = reservoir in mL, separated by semicolons",
}


@dataclass(frozen=True, slots=True)
class EditableParameter:
    """One parameter as the draft form offers it."""

    name: str
    kind: ParameterKind
    unit: str
    value: str  # the current value as typed in the form ("5, 10, 20" for a list)
    source: str  # the current value's source
    allowed: str  # CLINICAL_RULES §11's range, "" where it gives none
    hard_limit: str  # the limit no edit may pass, "" where there is none

    @property
    def kind_hint(self) -> str:
        return _KIND_HINTS[self.kind]


@dataclass(frozen=True, slots=True)
class ParameterDiff:
    """One parameter whose value or source differs between two versions (None: absent)."""

    name: str
    unit: str
    old_value: str | None
    new_value: str | None
    old_source: str | None
    new_source: str | None

    @property
    def value_changed(self) -> bool:
        return self.old_value != self.new_value

    @property
    def source_changed(self) -> bool:
        return self.old_source != self.new_source


def editable_parameters(protocol_id: str, content: str) -> tuple[EditableParameter, ...]:
    """Every parameter of an editable protocol, in the schema's order, from ``content``."""
    parameters = _parameters(content)
    allowed = ALLOWED_RANGES.get(protocol_id, {})
    hard = HARD_LIMITS.get(protocol_id, {})
    return tuple(
        EditableParameter(
            name=name,
            kind=kind,
            unit=str(parameters[name]["unit"]),
            value=display_value(parameters[name]["value"]),
            source=str(parameters[name]["source"]),
            allowed=bound_text(allowed[name]) if name in allowed else "",
            hard_limit=bound_text(hard[name]) if name in hard else "",
        )
        for name, kind in PARAMETER_SCHEMA[protocol_id].items()
        if name in parameters
    )


def typed_value(kind: ParameterKind, text: str) -> str | list[str] | list[dict[str, str]]:
    """A value as the form sends it, in the document's shape: a list kind is split at commas
    (empty pieces dropped, so "5, 10," is [5, 10]); pump models at semicolons, each "model =
    reservoir" (a piece without "=" keeps an empty reservoir, which the loader refuses with
    its reason); every value keeps the text typed, since decimals are stored as exact
    strings."""
    if kind == "pump_models":
        return [_pump(piece) for piece in text.split(PUMP_SEPARATOR) if piece.strip()]
    if kind in LIST_KINDS:
        return [piece.strip() for piece in text.split(LIST_SEPARATOR) if piece.strip()]
    return text.strip()


def display_value(value: object) -> str:
    """A stored value as one line: a list joined with ", ", pump models as "model = mL"
    joined with "; "."""
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        pumps = (
            f"{item.get('model', '')} {PUMP_RESERVOIR} {item.get('reservoir_ml', '')}"
            for item in value
        )
        return f"{PUMP_SEPARATOR} ".join(pumps)
    if isinstance(value, list):
        return f"{LIST_SEPARATOR} ".join(str(item) for item in value)
    return str(value)


def _pump(piece: str) -> dict[str, str]:
    model, _, reservoir = piece.partition(PUMP_RESERVOIR)
    return {"model": model.strip(), "reservoir_ml": reservoir.strip()}


def bound_text(bound: Bound) -> str:
    """A bound for people: "5 to 15", "at least 3", "at most 80"."""
    if bound.low is None:
        return f"at most {bound.high}"
    if bound.high is None:
        return f"at least {bound.low}"
    if bound.low == bound.high:
        return f"exactly {bound.low}"
    return f"{bound.low} to {bound.high}"


def parameter_diff(old_content: str | None, new_content: str) -> tuple[ParameterDiff, ...]:
    """The parameters whose value or source differ from ``old_content`` (None: the first
    version, which differs from nothing), in ``new_content``'s order, then any removed."""
    if old_content is None:
        return ()
    old, new = _parameters(old_content), _parameters(new_content)
    names = [*new, *(name for name in old if name not in new)]
    diffs = []
    for name in names:
        before, after = old.get(name), new.get(name)
        diff = ParameterDiff(
            name=name,
            unit=str((after or before or {}).get("unit", "")),
            old_value=None if before is None else display_value(before["value"]),
            new_value=None if after is None else display_value(after["value"]),
            old_source=None if before is None else str(before["source"]),
            new_source=None if after is None else str(after["source"]),
        )
        if diff.value_changed or diff.source_changed:
            diffs.append(diff)
    return tuple(diffs)


def _parameters(content: str) -> dict[str, dict[str, Any]]:
    document = json.loads(content)
    parameters: dict[str, dict[str, Any]] = document.get("parameters", {})
    return parameters
