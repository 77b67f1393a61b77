"""Co-medication dictionary (§9): names and class codes to interaction classes.

Matching is case-insensitive on the generic or brand name, ignoring any strength or
frequency written after it ("oxycodone 10 mg BID"). An unknown name is never ignored: it
yields ``unrecognised_medication`` (A.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.domain.titration.errors import ProtocolError
from app.domain.titration.protocol import ProtocolRef, parse_document


@dataclass(frozen=True, slots=True)
class MedicationClass:
    code: str
    finding: str
    cns_depressant: bool
    source: str


@dataclass(frozen=True, slots=True)
class MedicationMatch:
    """One entered medication and the class it was recognised as (``None``: unknown)."""

    entered: str
    medication_class: MedicationClass | None


@dataclass(frozen=True, slots=True)
class MedicationDictionary:
    ref: ProtocolRef
    classes: Mapping[str, MedicationClass]
    names: Mapping[str, str]

    def classify(self, entered: str) -> MedicationMatch:
        """Recognise ``entered`` by its longest leading words that name a drug or a class."""
        words = " ".join(entered.lower().split()).split(" ")
        for length in range(len(words), 0, -1):
            candidate = " ".join(words[:length])
            code = candidate if candidate in self.classes else self.names.get(candidate)
            if code is not None:
                return MedicationMatch(entered, self.classes[code])
        return MedicationMatch(entered, None)


def parse_medications(raw: bytes) -> MedicationDictionary:
    """Parse medication-classes.json; every name maps to exactly one known class."""
    ref, _, document = parse_document("medication-classes", raw)
    classes_raw, names_raw = document.get("classes"), document.get("names")
    if not isinstance(classes_raw, dict) or not isinstance(names_raw, dict):
        raise ProtocolError("medication-classes: 'classes' and 'names' must be objects")
    classes = {code: _parse_class(code, entry) for code, entry in classes_raw.items()}
    names: dict[str, str] = {}
    for code, listed in names_raw.items():
        if code not in classes or not isinstance(listed, list):
            raise ProtocolError(f"medication-classes: names of unknown class {code!r}")
        for name in listed:
            if not isinstance(name, str) or name != name.lower().strip() or name in names:
                raise ProtocolError(f"medication-classes: bad or duplicate name {name!r}")
            names[name] = code
    return MedicationDictionary(ref, classes, names)


def _parse_class(code: str, entry: object) -> MedicationClass:
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("finding"), str)
        or not isinstance(entry.get("cns_depressant"), bool)
        or not isinstance(entry.get("source"), str)
    ):
        raise ProtocolError(f"medication-classes.{code}: needs finding, cns_depressant, source")
    return MedicationClass(code, entry["finding"], entry["cns_depressant"], entry["source"])
