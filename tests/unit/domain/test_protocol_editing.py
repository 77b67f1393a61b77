"""What a pharmacist sees while changing a protocol: the editable parameters with their bounds,
typed values in the document's shape, and the diff of values and sources between versions."""

from __future__ import annotations

import json
from decimal import Decimal

from app.domain.titration.protocol import PARAMETER_SCHEMA, read_protocol_bytes
from app.domain.titration.protocol_editing import (
    bound_text,
    display_value,
    editable_parameters,
    parameter_diff,
    typed_value,
)
from app.domain.titration.protocol_limits import Bound

ORAL_ADULT = read_protocol_bytes("oral-adult").decode("utf-8")


def _edited(content: str, name: str, **entry: object) -> str:
    document = json.loads(content)
    document["parameters"][name] = {**document["parameters"][name], **entry}
    return json.dumps(document)


def test_every_parameter_of_the_schema_comes_with_its_unit_value_source_and_bounds() -> None:
    parameters = {p.name: p for p in editable_parameters("oral-adult", ORAL_ADULT)}
    assert list(parameters) == list(PARAMETER_SCHEMA["oral-adult"])
    start = parameters["start_mg_day"]
    assert (start.kind, start.unit, start.value) == ("decimal", "mg/day", "15")
    assert start.source == "R-OA-1 [US-TAB]"
    assert (start.allowed, start.hard_limit) == ("5 to 15", "")
    cap = parameters["cap_outpatient_mg_day"]
    assert (cap.allowed, cap.hard_limit) == ("", "at most 80")
    assert parameters["interval_days"].allowed == "at least 3"
    assert parameters["remainder_priority"].value == "evening, morning, night, midday"
    assert parameters["remainder_priority"].kind_hint == "words separated by commas"


def test_typed_values_take_the_documents_shape_and_keep_the_digits_typed() -> None:
    assert typed_value("decimal", " 7.50 ") == "7.50"
    assert typed_value("decimal_list", "5, 10,, 20 ,") == ["5", "10", "20"]
    assert typed_value("text_list", "evening,morning") == ["evening", "morning"]
    assert typed_value("ratio", "2/3") == "2/3"
    assert display_value(["5", "10"]) == "5, 10"


def test_the_formularys_stock_lists_and_pump_models_go_through_one_line_each() -> None:
    formulary = read_protocol_bytes("formulary").decode("utf-8")
    parameters = {p.name: p for p in editable_parameters("formulary", formulary)}
    pumps = parameters["pump_models"]
    assert pumps.value.startswith("SynchroMed II = 20; SynchroMed II = 40; ")
    assert "semicolons" in pumps.kind_hint
    assert (
        typed_value("pump_models", pumps.value)
        == json.loads(formulary)["parameters"]["pump_models"]["value"]
    )
    assert typed_value("pump_models", "Prometra = 20;; Tank") == [
        {"model": "Prometra", "reservoir_ml": "20"},
        {"model": "Tank", "reservoir_ml": ""},  # the loader refuses it, naming the value
    ]
    assert typed_value("decimal_set", "") == []  # nothing of that kind stocked
    assert "none stocked" in parameters["oral_solution_mg_per_ml"].kind_hint


def test_bounds_read_as_words() -> None:
    assert bound_text(Bound(Decimal(5), Decimal(15), "s")) == "5 to 15"
    assert bound_text(Bound(None, Decimal(80), "s")) == "at most 80"
    assert bound_text(Bound(Decimal(3), None, "s")) == "at least 3"
    assert bound_text(Bound(Decimal(5), Decimal(5), "s")) == "exactly 5"


def test_the_diff_names_each_changed_value_and_source_and_nothing_else() -> None:
    assert parameter_diff(None, ORAL_ADULT) == ()
    assert parameter_diff(ORAL_ADULT, ORAL_ADULT) == ()
    value = _edited(ORAL_ADULT, "interval_days", value="7", source="Clinic 2026")
    source_only = _edited(value, "start_mg_day", source="Clinic 2026")
    diffs = parameter_diff(ORAL_ADULT, source_only)
    assert [d.name for d in diffs] == ["start_mg_day", "interval_days"]  # the document's order
    start, interval = diffs
    assert (start.value_changed, start.source_changed) == (False, True)
    assert (start.old_source, start.new_source) == ("R-OA-1 [US-TAB]", "Clinic 2026")
    assert (interval.old_value, interval.new_value, interval.unit) == ("3", "7", "days")
    assert interval.value_changed
    lists = _edited(ORAL_ADULT, "remainder_priority", value=["morning", "evening"])
    (remainder,) = parameter_diff(ORAL_ADULT, lists)
    assert remainder.new_value == "morning, evening"
    assert not remainder.source_changed


def test_the_diff_lists_a_parameter_a_version_added_or_removed_with_its_unit() -> None:
    """A new protocol version may add a parameter or drop one (formulations v2 dropped the
    stock, which moved to the formulary); the diff shows each beside its absence."""
    document = json.loads(ORAL_ADULT)
    added = dict(document["parameters"])
    added["weekend_steps"] = {"value": "0", "unit": "steps", "source": "Clinic 2026"}
    with_added = json.dumps({**document, "parameters": added})
    (new,) = parameter_diff(ORAL_ADULT, with_added)
    assert (new.name, new.unit, new.old_value, new.new_value) == (
        "weekend_steps",
        "steps",
        None,
        "0",
    )
    assert (new.old_source, new.new_source) == (None, "Clinic 2026")
    (gone,) = parameter_diff(with_added, ORAL_ADULT)
    assert (gone.name, gone.unit, gone.old_value, gone.new_value) == (
        "weekend_steps",
        "steps",
        "0",
        None,
    )
    assert (gone.old_source, gone.new_source) == ("Clinic 2026", None)
    unitless = dict(added, weekend_steps={"value": "0", "source": "Clinic 2026"})
    (bare,) = parameter_diff(ORAL_ADULT, json.dumps({**document, "parameters": unitless}))
    assert bare.unit == ""
    assert parameter_diff(ORAL_ADULT, json.dumps({"id": "oral-adult"}))[0].new_value is None
