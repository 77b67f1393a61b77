"""Co-medication dictionary (§9, A.6.9): what an entered medication is made of.

The dictionary is data (``protocols/medication-dictionary.json``, versioned and fingerprinted
like the protocols): substances with their generic name, brands and German and Vietnamese
spellings, each in one interaction class; combination products split into their substances;
and the words that are never a substance (strengths, units, forms, salts, frequencies,
manufacturers).

Public entry point: ``MedicationDictionary.classify(entered) -> MedicationMatch`` (the
planner's screening and any importer of medication lists call it). Matching ignores case,
accents (Vietnamese đ included), punctuation, strengths and form words: "Oxycodon/Naloxon
10/5 mg" is oxycodone + naloxone, "Tilidin(+Naloxon)" tilidine + naloxone, "co-codamol"
codeine + paracetamol. Words are read left to right, each time taking the longest run of
words that names a substance, a combination or a class code. A word that is none of these
is kept in ``unrecognised``: the entry then needs a check by hand (never ignored silently).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.domain.titration.errors import ProtocolError
from app.domain.titration.protocol import ProtocolRef, parse_document

DICTIONARY_ID = "medication-dictionary"
_MAX_WORDS_PER_NAME = 4
# Entries classified before, kept with the dictionary (entries repeat: every preview of a
# patient repeats the patient's list). Bounded: at the limit the memory starts again.
MAX_REMEMBERED_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class MedicationClass:
    """An interaction class; ``finding`` is ``None`` for co-medications with no interaction."""

    code: str
    finding: str | None
    cns_depressant: bool
    source: str


@dataclass(frozen=True, slots=True)
class MedicationComponent:
    """One substance found in an entry (its generic name) and its class."""

    substance: str
    medication_class: MedicationClass


@dataclass(frozen=True, slots=True)
class MedicationMatch:
    """One entered medication: the substances recognised in it and the words that were not."""

    entered: str
    components: tuple[MedicationComponent, ...] = ()
    unrecognised: tuple[str, ...] = ()

    @property
    def recognised(self) -> bool:
        """True when every word was understood and at least one substance found."""
        return bool(self.components) and not self.unrecognised

    @property
    def medication_class(self) -> MedicationClass | None:
        """The first component's class that raises a finding, else the first class, else None.

        Kept for callers that want one class; ``components`` is the full answer.
        """
        classes = [component.medication_class for component in self.components]
        with_finding = [cls for cls in classes if cls.finding is not None]
        return next(iter(with_finding or classes), None)


@dataclass(frozen=True, slots=True)
class MedicationDictionary:
    ref: ProtocolRef
    classes: Mapping[str, MedicationClass]
    # normalised name → the substances it stands for (one, or a combination's components)
    names: Mapping[str, tuple[str, ...]]
    substance_classes: Mapping[str, str]
    ignored_words: frozenset[str]
    _remembered: dict[str, MedicationMatch] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def classify(self, entered: str) -> MedicationMatch:
        """Split ``entered`` into substances, ignoring strengths, forms and punctuation."""
        match = self._remembered.get(entered)
        if match is None:
            match = self._classify(entered)
            if len(self._remembered) >= MAX_REMEMBERED_ENTRIES:
                self._remembered.clear()
            self._remembered[entered] = match
        return match

    def _classify(self, entered: str) -> MedicationMatch:
        words = normalise(entered).split()
        components: dict[str, MedicationComponent] = {}
        unknown: list[str] = []
        position = 0
        while position < len(words):
            length, substances = self._longest_name_at(words, position)
            if substances:
                for substance in substances:
                    components.setdefault(
                        substance,
                        MedicationComponent(
                            substance, self.classes[self.substance_classes[substance]]
                        ),
                    )
                position += length
                continue
            word = words[position]
            if word not in self.ignored_words and not any(c.isdigit() for c in word):
                unknown.append(word)
            position += 1
        return MedicationMatch(entered, tuple(components.values()), tuple(unknown))

    def _longest_name_at(self, words: list[str], position: int) -> tuple[int, tuple[str, ...]]:
        longest = min(_MAX_WORDS_PER_NAME, len(words) - position)
        for length in range(longest, 0, -1):
            substances = self.names.get(" ".join(words[position : position + length]))
            if substances:
                return length, substances
        return 0, ()


def normalise(text: str) -> str:
    """Lower case without accents; every character but letters, digits and % is a space."""
    folded = unicodedata.normalize("NFKD", text.casefold().replace("đ", "d"))
    kept = (
        char if char.isalnum() or char == "%" else " "
        for char in folded
        if not unicodedata.combining(char)
    )
    return " ".join("".join(kept).split())


def parse_medications(raw: bytes) -> MedicationDictionary:
    """Parse medication-dictionary.json; every name stands for exactly one thing."""
    ref, _, document = parse_document(DICTIONARY_ID, raw)
    sections = [document.get(key) for key in ("classes", "substances", "combinations")]
    ignored = document.get("ignored_words")
    if not all(isinstance(section, dict) for section in sections) or not isinstance(ignored, dict):
        raise ProtocolError(
            f"{DICTIONARY_ID}: classes, substances, combinations, ignored_words must be objects"
        )
    classes_raw, substances_raw, combinations_raw = sections
    assert isinstance(classes_raw, dict)  # nosec B101 - checked above; narrows for mypy
    assert isinstance(substances_raw, dict)  # nosec B101: an invariant that narrows the type
    assert isinstance(combinations_raw, dict)  # nosec B101: an invariant that narrows the type
    classes = {code: _parse_class(code, entry) for code, entry in classes_raw.items()}
    names: dict[str, tuple[str, ...]] = {}
    substance_classes: dict[str, str] = {}
    for substance, entry in substances_raw.items():
        code, listed = _parse_substance(substance, entry, classes)
        substance_classes[substance] = code
        for name in (substance, *listed):
            _add_name(names, name, (substance,))
    for name, entry in combinations_raw.items():
        _add_name(names, name, _parse_combination(name, entry, substance_classes))
    for code in classes:
        # A class code ("opioid", "cns_depressant") is accepted as an entry (API.md §3).
        substance_classes.setdefault(code, code)
        names.setdefault(normalise(code), (code,))
    words = ignored.get("words")
    if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
        raise ProtocolError(f"{DICTIONARY_ID}: ignored_words.words must list words")
    return MedicationDictionary(
        ref, classes, names, substance_classes, frozenset(normalise(w) for w in words)
    )


def _add_name(names: dict[str, tuple[str, ...]], name: str, substances: tuple[str, ...]) -> None:
    key = normalise(name)
    if not key or key in names or len(key.split()) > _MAX_WORDS_PER_NAME:
        raise ProtocolError(f"{DICTIONARY_ID}: empty, duplicate or too long name {name!r}")
    names[key] = substances


def _parse_class(code: str, entry: object) -> MedicationClass:
    finding = entry.get("finding") if isinstance(entry, dict) else None
    if (
        not isinstance(entry, dict)
        or not (finding is None or isinstance(finding, str))
        or not isinstance(entry.get("cns_depressant"), bool)
        or not isinstance(entry.get("source"), str)
    ):
        raise ProtocolError(f"{DICTIONARY_ID}.{code}: needs finding, cns_depressant, source")
    return MedicationClass(code, finding, entry["cns_depressant"], entry["source"])


def _parse_substance(
    substance: str, entry: object, classes: Mapping[str, MedicationClass]
) -> tuple[str, list[str]]:
    if (
        not isinstance(entry, dict)
        or entry.get("class") not in classes
        or not isinstance(entry.get("names"), list)
        or not all(isinstance(name, str) for name in entry["names"])
        or not isinstance(entry.get("source"), str)
    ):
        raise ProtocolError(f"{DICTIONARY_ID}.{substance}: needs a known class, names, source")
    return entry["class"], entry["names"]


def _parse_combination(
    name: str, entry: object, substance_classes: Mapping[str, str]
) -> tuple[str, ...]:
    components = entry.get("components") if isinstance(entry, dict) else None
    if (
        not isinstance(entry, dict)
        or not isinstance(components, list)
        or len(components) < 2
        or not all(component in substance_classes for component in components)
        or not isinstance(entry.get("source"), str)
    ):
        raise ProtocolError(f"{DICTIONARY_ID}.{name}: needs known components and a source")
    return tuple(components)
