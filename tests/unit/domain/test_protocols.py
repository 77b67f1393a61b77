"""Protocol files: loading, fingerprints, and the loader's refusal of malformed data."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import pytest

from app.domain.titration import (
    Dose,
    DoseUnit,
    InvalidInputError,
    ProtocolError,
    load_protocols,
    round_to_strength,
)
from app.domain.titration.protocol import Ratio, read_protocol_bytes
from tests.unit.domain.builders import PROTOCOLS, plan_for

IDS = (
    "oral-adult", "oral-older-adult", "oral-renal", "oral-paediatric", "oral-taper", "itb",
    "formulations", "formulary", "medication-dictionary", "findings",
)  # fmt: skip
# Version 2 came with the formulary (issue 17): the stock moved out of formulations, and
# findings gained the formulary's codes.
VERSION_2 = {"formulations", "findings"}


def test_every_protocol_reports_id_version_and_sha256_of_its_bytes() -> None:
    refs = {ref.id: ref for ref in PROTOCOLS.refs}
    assert set(refs) == set(IDS)
    for protocol_id in IDS:
        digest = hashlib.sha256(read_protocol_bytes(protocol_id)).hexdigest()
        version = "2" if protocol_id in VERSION_2 else "1"
        assert (refs[protocol_id].version, refs[protocol_id].sha256) == (version, digest)
    plan = plan_for()
    assert plan.protocol.id == "oral-adult"
    assert set(IDS) == {ref.id for ref in plan.protocols}


def test_every_parameter_carries_a_source() -> None:
    adult = PROTOCOLS.oral_adult
    assert adult.sources["start_mg_day"] == "R-OA-1 [US-TAB]"
    assert adult.decimal("start_mg_day") == Decimal(15)
    assert PROTOCOLS.oral_renal.ratio("mild_factor") == Ratio(Decimal(2), Decimal(3))


def _loader_with(protocol_id: str, edit: Any) -> Any:
    def read(requested: str) -> bytes:
        raw = read_protocol_bytes(requested)
        if requested != protocol_id:
            return raw
        return edit(json.loads(raw))  # type: ignore[no-any-return]

    return read


def _set(path: tuple[str, ...], value: object) -> Any:
    def edit(document: dict[str, Any]) -> bytes:
        target = document
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return json.dumps(document).encode()

    return edit


_DELETE = object()
_P = "parameters"


@pytest.mark.parametrize(
    ("protocol_id", "edit"),
    [
        ("oral-adult", lambda _: b"{not json"),
        ("oral-adult", _set(("id",), "other")),
        ("oral-adult", _set(("version",), 1)),
        ("oral-adult", _set((_P, "start_mg_day"), _DELETE)),
        ("oral-adult", _set((_P, "extra"), {"value": "1", "unit": "", "source": "x"})),
        ("oral-adult", _set((_P,), [])),
        ("oral-adult", _set((_P, "start_mg_day"), {"value": "15"})),
        ("oral-adult", _set((_P, "start_mg_day", "source"), " ")),
        ("oral-adult", _set((_P, "start_mg_day", "value"), 15)),
        ("oral-adult", _set((_P, "start_mg_day", "value"), "fifteen")),
        ("oral-adult", _set((_P, "start_mg_day", "value"), "-15")),
        ("oral-adult", _set((_P, "start_mg_day", "value"), "Infinity")),
        ("oral-adult", _set((_P, "interval_days", "value"), "3.5")),
        ("oral-adult", _set((_P, "remainder_priority", "value"), [])),
        ("oral-renal", _set((_P, "mild_factor", "value"), "2/0")),
        ("findings", _set(("findings",), {})),
        ("findings", _set(("findings", "epilepsy", "severity"), "fatal")),
        ("findings", _set(("findings", "epilepsy", "routes"), None)),
        ("findings", _set(("findings", "epilepsy", "rule"), "")),
        ("findings", _set(("findings", "driving", "overridable"), True)),
        ("findings", _set(("findings", "epilepsy", "extra"), 1)),
        ("medication-dictionary", _set(("substances",), [])),
        ("medication-dictionary", _set(("substances", "x"), {"class": "nope", "names": [],
                                                             "source": "s"})),
        ("medication-dictionary", _set(("substances", "morphine", "names"), ["Oxycodone"])),
        ("medication-dictionary", _set(("substances", "morphine", "names"), ["a b c d e"])),
        ("medication-dictionary", _set(("classes", "opioid", "cns_depressant"), "no")),
        ("medication-dictionary", _set(("classes", "opioid", "finding"), "no_such_finding")),
        ("medication-dictionary", _set(("combinations", "targin", "components"), ["nope", "x"])),
        ("medication-dictionary", _set(("ignored_words", "words"), "mg")),
    ],
)  # fmt: skip
def test_the_loader_refuses_malformed_protocols(protocol_id: str, edit: Any) -> None:
    with pytest.raises(ProtocolError) as raised:
        load_protocols(_loader_with(protocol_id, edit))
    assert raised.value.code == "protocol_invalid"


def test_ratios_without_a_denominator_are_whole_factors() -> None:
    protocols = load_protocols(_loader_with("oral-renal", _set((_P, "mild_factor", "value"), "1")))
    assert protocols.oral_renal.ratio("mild_factor").apply(Decimal(9)) == Decimal(9)


@pytest.mark.parametrize("value", [Decimal(-1), Decimal("NaN"), 5])
def test_a_dose_must_be_a_finite_non_negative_decimal(value: object) -> None:
    with pytest.raises(InvalidInputError):
        Dose(value, DoseUnit.MG)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "strength", "expected"),
    [("7.5", "5", "5"), ("0.825", "0.1", "0.8"), ("26.25", "1", "26"), ("10", "5", "10")],
)
def test_round_to_strength_always_rounds_down(amount: str, strength: str, expected: str) -> None:
    assert round_to_strength(Decimal(amount), Decimal(strength)) == Decimal(expected)
