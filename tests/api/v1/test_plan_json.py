"""The preview's hand-written JSON (app/api/v1/plan_json.py) is byte for byte what PlanOut
gives, for every kind of plan the engine makes, including hostile text in findings."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from pydantic import TypeAdapter, ValidationError

from app.api.v1.plan_json import number, plan_json
from app.api.v1.plan_schemas import DoseOut, PlanOut
from app.domain.titration import PlanRequest, build_plan
from tests.unit.domain.builders import PROTOCOLS, make_patient, make_request
from tests.unit.domain.test_properties import SETTINGS, _plan_or_none, requests

# What FastAPI sends for a `response_model=PlanOut` route (its dump_json fast path).
_PLAN_OUT = TypeAdapter(PlanOut)


def _pydantic_bytes(plan: object) -> bytes:
    model = PlanOut.model_validate(plan, from_attributes=True)
    return _PLAN_OUT.dump_json(model, by_alias=True)


@SETTINGS
@given(requests())
def test_every_plan_serialises_as_plan_out_does(request: PlanRequest) -> None:
    plan = _plan_or_none(request)
    if plan is None:
        return
    assert plan_json(plan) == _pydantic_bytes(plan)
    blocked = build_plan(dataclasses.replace(request, overrides=()), PROTOCOLS)
    assert plan_json(blocked) == _pydantic_bytes(blocked)


@pytest.mark.parametrize(
    "entered",
    ['Zolpidem "night" \\ 10 mg', "Oxycodon/Naloxon 10/5 mg", "thuốc ngủ đêm", "tab\tand\x01"],
)
def test_typed_text_in_findings_is_escaped_alike(entered: str) -> None:
    request = make_request(patient=make_patient(medications=(entered, "oxycodone")))
    plan = build_plan(request, PROTOCOLS)
    assert any(entered in finding.message for finding in plan.findings)
    assert plan_json(plan) == _pydantic_bytes(plan)


def test_more_than_four_decimal_places_is_refused_as_exact_number_refuses_it() -> None:
    assert number(Decimal("0.1250")) == 0.125
    assert number(Decimal("80.000")) == 80
    with pytest.raises(ValueError, match="four decimal places"):
        number(Decimal("0.12345"))
    with pytest.raises(ValidationError, match="decimal places"):
        DoseOut.model_validate({"value": Decimal("0.12345"), "unit": "mg"})  # the schema's own
