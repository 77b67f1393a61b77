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
    load_stored_protocols,
    round_to_strength,
)
from app.domain.titration.findings import Route, Severity
from app.domain.titration.protocol import (
    PARAMETER_SCHEMA,
    Ratio,
    parse_protocol,
    read_protocol_bytes,
)
from tests.unit.domain.builders import PROTOCOLS, plan_for

IDS = (
    "oral-adult", "oral-older-adult", "oral-renal", "oral-paediatric", "oral-taper", "itb",
    "formulations", "formulary", "medication-dictionary", "findings",
)  # fmt: skip
# Version 2 came with the formulary (issue 17): the stock moved out of formulations, and
# findings gained the formulary's codes.
VERSION_2 = {"formulations", "findings"}


def test_every_protocol_reports_id_version_and_sha256_of_its_bytes() -> None:
    refs = {ref.id: ref for ref in load_protocols().refs}
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
ALL_MISSING = f"oral-adult: parameters missing {sorted(PARAMETER_SCHEMA['oral-adult'])}, unknown []"
NEEDS_EXACTLY = (
    "findings.epilepsy: needs exactly ['message', 'overridable', 'routes', 'rule', 'severity', "
    "'source']"
)


@pytest.mark.parametrize(
    ("protocol_id", "edit", "message"),
    [
        (
            "oral-adult",
            lambda _: b"{not json",
            "oral-adult: not valid JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1))",
        ),
        (
            "oral-adult",
            _set(("id",), "other"),
            "oral-adult: the file must be an object with id 'oral-adult'",
        ),
        (
            "oral-adult",
            _set(("version",), 1),
            "oral-adult: version and title must be non-empty strings",
        ),
        (
            "oral-adult",
            _set((_P, "start_mg_day"), _DELETE),
            "oral-adult: parameters missing ['start_mg_day'], unknown []",
        ),
        (
            "oral-adult",
            _set((_P, "extra"), {"value": "1", "unit": "", "source": "x"}),
            "oral-adult: parameters missing [], unknown ['extra']",
        ),
        ("oral-adult", _set((_P,), []), ALL_MISSING),
        (
            "oral-adult",
            _set((_P, "start_mg_day"), {"value": "15"}),
            "oral-adult.start_mg_day: needs exactly value, unit and source",
        ),
        (
            "oral-adult",
            _set((_P, "start_mg_day", "source"), " "),
            "oral-adult.start_mg_day: unit and a non-empty source are required",
        ),
        (
            "oral-adult",
            _set((_P, "start_mg_day", "value"), 15),
            "oral-adult.start_mg_day: expected a non-empty string, got 15",
        ),
        (
            "oral-adult",
            _set((_P, "start_mg_day", "value"), "fifteen"),
            "oral-adult.start_mg_day: 'fifteen' is not a decimal number",
        ),
        (
            "oral-adult",
            _set((_P, "start_mg_day", "value"), "-15"),
            "oral-adult.start_mg_day: expected a finite number ≥ 0, got '-15'",
        ),
        (
            "oral-adult",
            _set((_P, "start_mg_day", "value"), "Infinity"),
            "oral-adult.start_mg_day: expected a finite number ≥ 0, got 'Infinity'",
        ),
        (
            "oral-adult",
            _set((_P, "interval_days", "value"), "3.5"),
            "oral-adult.interval_days: expected a whole number, got 3.5",
        ),
        (
            "oral-adult",
            _set((_P, "remainder_priority", "value"), []),
            "oral-adult.remainder_priority: expected a non-empty list",
        ),
        (
            "oral-renal",
            _set((_P, "mild_factor", "value"), "2/0"),
            "oral-renal.mild_factor: the denominator must not be 0",
        ),
        ("findings", _set(("findings",), {}), "findings: 'findings' must be a non-empty object"),
        (
            "findings",
            _set(("findings", "epilepsy", "severity"), "fatal"),
            "findings.epilepsy: unknown severity or route ('fatal' is not a valid Severity)",
        ),
        (
            "findings",
            _set(("findings", "epilepsy", "routes"), None),
            "findings.epilepsy: unknown severity or route ('NoneType' object is not iterable)",
        ),
        (
            "findings",
            _set(("findings", "epilepsy", "rule"), ""),
            "findings.epilepsy: invalid rule, source, message or overridable flag",
        ),
        (
            "findings",
            _set(("findings", "driving", "overridable"), True),
            "findings.driving: invalid rule, source, message or overridable flag",
        ),
        ("findings", _set(("findings", "epilepsy", "extra"), 1), NEEDS_EXACTLY),
        (
            "medication-dictionary",
            _set(("substances",), []),
            "medication-dictionary: classes, substances, combinations, ignored_words must be "
            "objects",
        ),
        (
            "medication-dictionary",
            _set(("substances", "x"), {"class": "nope", "names": [], "source": "s"}),
            "medication-dictionary.x: needs a known class, names, source",
        ),
        (
            "medication-dictionary",
            _set(("substances", "morphine", "names"), ["Oxycodone"]),
            "medication-dictionary: empty, duplicate or too long name 'Oxycodone'",
        ),
        (
            "medication-dictionary",
            _set(("substances", "morphine", "names"), ["a b c d e"]),
            "medication-dictionary: empty, duplicate or too long name 'a b c d e'",
        ),
        (
            "medication-dictionary",
            _set(("classes", "opioid", "cns_depressant"), "no"),
            "medication-dictionary.opioid: needs finding, cns_depressant, source",
        ),
        (
            "medication-dictionary",
            _set(("classes", "opioid", "finding"), "no_such_finding"),
            "medication-dictionary: unknown finding codes ['no_such_finding']",
        ),
        (
            "medication-dictionary",
            _set(("combinations", "targin", "components"), ["nope", "x"]),
            "medication-dictionary.targin: needs known components and a source",
        ),
        (
            "medication-dictionary",
            _set(("ignored_words", "words"), "mg"),
            "medication-dictionary: ignored_words.words must list words",
        ),
        (
            "oral-adult",
            _set(("title",), 5),
            "oral-adult: version and title must be non-empty strings",
        ),
        ("oral-adult", _set((_P,), ["start_mg_day"]), ALL_MISSING),
        (
            "oral-adult",
            _set((_P, "interval_days", "value"), "x"),
            "oral-adult.interval_days: 'x' is not a decimal number",
        ),
        (
            "oral-renal",
            _set((_P, "mild_factor", "value"), 2),
            "oral-renal.mild_factor: expected a non-empty string, got 2",
        ),
        (
            "oral-renal",
            _set((_P, "mild_factor", "value"), "x/3"),
            "oral-renal.mild_factor: 'x' is not a decimal number",
        ),
        (
            "oral-renal",
            _set((_P, "mild_factor", "value"), "2/y"),
            "oral-renal.mild_factor: 'y' is not a decimal number",
        ),
        (
            "formulary",
            _set((_P, "tablet_strengths_mg", "value"), ["5", "x"]),
            "formulary.tablet_strengths_mg: 'x' is not a decimal number",
        ),
        (
            "oral-adult",
            _set((_P, "remainder_priority", "value"), "evening"),
            "oral-adult.remainder_priority: expected a non-empty list",
        ),
        (
            "oral-adult",
            _set((_P, "remainder_priority", "value"), [""]),
            "oral-adult.remainder_priority: expected a non-empty string, got ''",
        ),
        (
            "oral-paediatric",
            _set((_P, "band_upper_mg_day", "value"), ["20", "x"]),
            "oral-paediatric.band_upper_mg_day: 'x' is not a decimal number",
        ),
        (
            "oral-paediatric",
            _set((_P, "band_upper_mg_day", "value"), "20"),
            "oral-paediatric.band_upper_mg_day: expected a non-empty list",
        ),
        (
            "formulary",
            _set((_P, "tablet_strengths_mg", "value"), []),
            "formulary.tablet_strengths_mg: stock at least one tablet strength",
        ),
        (
            "formulary",
            _set((_P, "scored_tablet_strengths_mg", "value"), ["10", "25", "7.5"]),
            "formulary.scored_tablet_strengths_mg: 7.5, 25 mg is not a stocked tablet strength",
        ),
        (
            "oral-paediatric",
            _set((_P, "band_upper_mg_day", "value"), ["20", "30", "40"]),
            "oral-paediatric.band_upper_mg_day: one usual upper dose per age band "
            "(4 bands in band_from_months, 3 doses)",
        ),
        (
            "oral-paediatric",
            _set((_P, "band_from_months", "value"), ["12", "24", "72", "96"]),
            "oral-paediatric.band_from_months: the bands start at 0 months and ascend",
        ),
        (
            "oral-paediatric",
            _set((_P, "band_from_months", "value"), ["0", "72", "24", "96"]),
            "oral-paediatric.band_from_months: the bands start at 0 months and ascend",
        ),
        (
            "oral-paediatric",
            _set((_P, "band_from_months", "value"), ["0", "24", "24", "96"]),
            "oral-paediatric.band_from_months: the bands start at 0 months and ascend",
        ),
        (
            "formulary",
            _set((_P, "pump_models", "value"), {"model": "A", "reservoir_ml": "20"}),
            "formulary.pump_models: expected a non-empty list",
        ),
        (
            "formulary",
            _set((_P, "pump_models", "value"), [{"model": 5, "reservoir_ml": "20"}]),
            "formulary.pump_models: expected a non-empty string, got 5",
        ),
        (
            "formulary",
            _set((_P, "pump_models", "value"), [{"model": "A", "reservoir_ml": "x"}]),
            "formulary.pump_models: 'x' is not a decimal number",
        ),
        ("findings", _set(("findings", "epilepsy"), []), NEEDS_EXACTLY),
        (
            "findings",
            _set(("findings", "epilepsy", "routes"), []),
            "findings.epilepsy: invalid rule, source, message or overridable flag",
        ),
        (
            "findings",
            _set(("findings",), ["epilepsy"]),
            "findings: 'findings' must be a non-empty object",
        ),
    ],
)
def test_the_loader_refuses_malformed_protocols_saying_where(
    protocol_id: str, edit: Any, message: str
) -> None:
    with pytest.raises(ProtocolError) as raised:
        load_protocols(_loader_with(protocol_id, edit))
    assert raised.value.code == "protocol_invalid"
    assert str(raised.value) == message


def test_ratios_without_a_denominator_are_whole_factors() -> None:
    protocols = load_protocols(_loader_with("oral-renal", _set((_P, "mild_factor", "value"), "1")))
    assert protocols.oral_renal.ratio("mild_factor").apply(Decimal(9)) == Decimal(9)


@pytest.mark.parametrize("value", [Decimal(-1), Decimal("NaN"), 5])
def test_a_dose_must_be_a_finite_non_negative_decimal(value: object) -> None:
    with pytest.raises(InvalidInputError) as refused:
        Dose(value, DoseUnit.MG)  # type: ignore[arg-type]
    assert refused.value.message == f"A dose must be a finite, non-negative Decimal: {value!r}"


@pytest.mark.parametrize(
    ("amount", "strength", "expected"),
    [("7.5", "5", "5"), ("0.825", "0.1", "0.8"), ("26.25", "1", "26"), ("10", "5", "10")],
)
def test_round_to_strength_always_rounds_down(amount: str, strength: str, expected: str) -> None:
    assert round_to_strength(Decimal(amount), Decimal(strength)) == Decimal(expected)


def test_every_parameter_is_read_exactly_as_written_with_its_source() -> None:
    for protocol_id, schema in PARAMETER_SCHEMA.items():
        document = json.loads(read_protocol_bytes(protocol_id))
        protocol = parse_protocol(protocol_id, read_protocol_bytes(protocol_id))
        assert protocol.title == document["title"]
        assert protocol.ref.version == document["version"]
        for name, kind in schema.items():
            entry = document["parameters"][name]
            value = entry["value"]
            assert protocol.sources[name] == entry["source"]
            if kind == "decimal":
                assert protocol.decimal(name) == Decimal(value)
            elif kind == "integer":
                assert protocol.integer(name) == int(value)
            elif kind == "ratio":
                numerator, _, denominator = value.partition("/")
                assert protocol.ratio(name) == Ratio(Decimal(numerator), Decimal(denominator or 1))
            elif kind in ("decimal_list", "decimal_set"):
                assert protocol.decimal_lists[name] == tuple(Decimal(v) for v in value)
            elif kind == "pump_models":
                pumps = protocol.pumps[name]
                assert [(p.model, p.reservoir_ml) for p in pumps] == [
                    (v["model"], Decimal(v["reservoir_ml"])) for v in value
                ]
            else:
                assert protocol.text_lists[name] == tuple(value)


def test_every_finding_of_the_catalogue_is_read_as_written() -> None:
    catalogue = load_protocols().findings
    document = json.loads(read_protocol_bytes("findings"))
    assert catalogue.ref.version == document["version"]
    assert set(catalogue.rules) == set(document["findings"])
    for code, entry in document["findings"].items():
        rule = catalogue.rules[code]
        assert (rule.code, rule.severity, rule.overridable) == (
            code, Severity(entry["severity"]), entry["overridable"],
        )  # fmt: skip
        assert (rule.rule, rule.source, rule.message) == (
            entry["rule"], entry["source"], entry["message"],
        )  # fmt: skip
        assert rule.routes == tuple(Route(route) for route in entry["routes"])


def test_every_protocol_of_the_set_is_read_from_its_own_file() -> None:
    protocols = load_protocols()
    parameter_protocols = {
        "oral-adult": protocols.oral_adult, "oral-older-adult": protocols.oral_older_adult,
        "oral-renal": protocols.oral_renal, "oral-paediatric": protocols.oral_paediatric,
        "oral-taper": protocols.oral_taper, "itb": protocols.itb,
        "formulations": protocols.formulations,
    }  # fmt: skip
    for protocol_id, protocol in parameter_protocols.items():
        assert protocol == parse_protocol(protocol_id, read_protocol_bytes(protocol_id))


def test_stored_protocols_load_as_the_packaged_files_and_a_missing_one_is_named() -> None:
    contents = {pid: read_protocol_bytes(pid) for pid in IDS}
    assert load_stored_protocols(contents).refs == load_protocols().refs
    del contents["itb"]
    with pytest.raises(ProtocolError, match=r"^itb: no approved version in the database$"):
        load_stored_protocols(contents)
