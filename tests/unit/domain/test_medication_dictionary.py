"""The medication dictionary as data (A.6.9): read afresh here, so that reading the file is
tested as well as matching against it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.domain.titration.errors import ProtocolError
from app.domain.titration.medications import (
    MedicationClass,
    MedicationDictionary,
    normalise,
    parse_medications,
)
from app.domain.titration.protocol import read_protocol_bytes

RAW = read_protocol_bytes("medication-dictionary")
NONE = "no_known_interaction"


def document() -> dict[str, Any]:
    return json.loads(RAW)  # type: ignore[no-any-return]


def dictionary(edit: Any = None) -> MedicationDictionary:
    data = document()
    if edit is not None:
        edit(data)
    return parse_medications(json.dumps(data).encode())


def components(entered: str) -> list[tuple[str, str]]:
    match = dictionary().classify(entered)
    return [(c.substance, c.medication_class.code) for c in match.components]


def test_every_class_keeps_its_finding_its_cns_flag_and_its_source() -> None:
    classes = dictionary().classes
    for code, entry in document()["classes"].items():
        assert classes[code] == MedicationClass(
            code, entry["finding"], entry["cns_depressant"], entry["source"]
        )


def test_every_generic_name_and_listed_spelling_is_its_substance_in_its_class() -> None:
    loaded = dictionary()
    for substance, entry in document()["substances"].items():
        for name in (substance, *entry["names"]):
            match = loaded.classify(name)
            assert match.recognised, name
            assert [(c.substance, c.medication_class.code) for c in match.components] == [
                (substance, entry["class"])
            ]


def test_every_combination_product_is_split_into_its_substances() -> None:
    loaded = dictionary()
    for name, entry in document()["combinations"].items():
        match = loaded.classify(name)
        assert match.recognised, name
        assert [c.substance for c in match.components] == entry["components"]


def test_a_class_code_entered_as_such_is_that_class() -> None:
    for code in document()["classes"]:
        assert components(code.replace("_", " ")) == [(code, code)]


def test_strengths_forms_and_other_ignored_words_are_never_unrecognised() -> None:
    loaded = dictionary()
    words = document()["ignored_words"]["words"]
    match = loaded.classify("oxycodone " + " ".join(words))
    assert match.unrecognised == ()
    assert [c.substance for c in match.components] == ["oxycodone"]
    assert loaded.ignored_words == frozenset(normalise(w) for w in words)


@pytest.mark.parametrize(
    ("entered", "expected"),
    [
        ("Oxycodon/Naloxon 10/5 mg", [("oxycodone", "opioid"), ("naloxone", NONE)]),
        ("Targin", [("oxycodone", "opioid"), ("naloxone", NONE)]),
        ("co-codamol", [("codeine", "opioid"), ("paracetamol", NONE)]),
        ("Lioresal 10 mg", [("baclofen", "baclofen")]),
    ],
)  # fmt: skip
def test_the_issue_11_entries_are_read_as_their_substances(
    entered: str, expected: list[tuple[str, str]]
) -> None:
    assert components(entered) == expected


def test_the_reference_of_the_dictionary_is_its_id_version_and_fingerprint() -> None:
    ref = dictionary().ref
    assert (ref.id, ref.version) == ("medication-dictionary", document()["version"])
    assert len(ref.sha256) == 64


def test_a_name_of_four_words_is_accepted_and_of_five_refused() -> None:
    def add(words: int) -> Any:
        return lambda d: d["substances"]["morphine"]["names"].append(" ".join(["zz"] * words))

    assert dictionary().classify("zz zz zz zz").unrecognised  # not in the packaged file
    assert [c.substance for c in dictionary(add(4)).classify("zz zz zz zz").components] == [
        "morphine"
    ]
    with pytest.raises(ProtocolError) as refused:
        dictionary(add(5))
    assert str(refused.value) == (
        "medication-dictionary: empty, duplicate or too long name 'zz zz zz zz zz'"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d.update(combinations=[]),
            "medication-dictionary: classes, substances, combinations, ignored_words must be "
            "objects",
        ),
        (
            lambda d: d.update(ignored_words=[]),
            "medication-dictionary: classes, substances, combinations, ignored_words must be "
            "objects",
        ),
        (
            lambda d: d["classes"].update(opioid=[]),
            "medication-dictionary.opioid: needs finding, cns_depressant, source",
        ),
        (
            lambda d: d["classes"]["opioid"].update(finding=1),
            "medication-dictionary.opioid: needs finding, cns_depressant, source",
        ),
        (
            lambda d: d["classes"]["opioid"].pop("source"),
            "medication-dictionary.opioid: needs finding, cns_depressant, source",
        ),
        (
            lambda d: d["substances"]["morphine"].update(names=[1]),
            "medication-dictionary.morphine: needs a known class, names, source",
        ),
        (
            lambda d: d["substances"]["morphine"].pop("source"),
            "medication-dictionary.morphine: needs a known class, names, source",
        ),
        (
            lambda d: d["combinations"].update(targin=[]),
            "medication-dictionary.targin: needs known components and a source",
        ),
        (
            lambda d: d["combinations"]["targin"].update(components="oxycodone"),
            "medication-dictionary.targin: needs known components and a source",
        ),
        (
            lambda d: d["combinations"]["targin"].update(
                components={"oxycodone": 1, "naloxone": 1}
            ),
            "medication-dictionary.targin: needs known components and a source",
        ),
        (
            lambda d: d["combinations"]["targin"].update(components=["oxycodone"]),
            "medication-dictionary.targin: needs known components and a source",
        ),
        (
            lambda d: d["combinations"]["targin"].pop("source"),
            "medication-dictionary.targin: needs known components and a source",
        ),
        (
            lambda d: d["ignored_words"].update(words=["mg", ""]),
            "medication-dictionary: ignored_words.words must list words",
        ),
        (
            lambda d: d["ignored_words"].update(words=["mg", 5]),
            "medication-dictionary: ignored_words.words must list words",
        ),
        (
            lambda d: d["substances"]["morphine"].update(names=["", "x"]),
            "medication-dictionary: empty, duplicate or too long name ''",
        ),
    ],
)
def test_a_malformed_dictionary_is_refused_saying_where(edit: Any, message: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        dictionary(edit)
    assert str(refused.value) == message


def test_an_unknown_word_is_kept_as_typed_and_the_next_word_still_read() -> None:
    match = dictionary().classify("Xyzcodone oxycodone 10 mg")
    assert match.unrecognised == ("xyzcodone",)
    assert [c.substance for c in match.components] == ["oxycodone"]
    assert not match.recognised


def test_normalising_keeps_letters_digits_and_percent_and_drops_accents() -> None:
    assert normalise("Lidocain 5% Gel") == "lidocain 5% gel"
    assert normalise("Đ-Ö/é,x") == "d o e x"
