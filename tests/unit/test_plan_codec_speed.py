"""The per-type to_plain (issue 12) gives exactly what the plain recursive walk gave: stored
plans keep their canonical text and content hashes."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from hypothesis import given

from app.domain.titration import PlanRequest
from app.services.plan_codec import canonical_json, to_plain
from tests.unit.domain.test_properties import SETTINGS, _plan_or_none, requests


def _reference(value: Any) -> Any:
    """to_plain as it was written before the per-type dispatch."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _reference(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_reference(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _reference(v) for k, v in value.items()}
    return value


@SETTINGS
@given(requests())
def test_requests_and_plans_convert_as_before(request: PlanRequest) -> None:
    assert to_plain(request) == _reference(request)
    plan = _plan_or_none(request)
    if plan is not None:
        plain = to_plain(plan)
        assert plain == _reference(plan)
        assert canonical_json(plan) == json.dumps(
            _reference(plan), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )


def test_odd_values_convert_as_before() -> None:
    @dataclasses.dataclass
    class Empty:
        pass

    values = [
        Empty(), Empty, {1: Decimal("1.50"), "b": (date(2026, 1, 2),)}, [None, True, 3, "x"],
        Decimal("-0"), Decimal("1E+2"),
    ]  # fmt: skip
    for value in values:
        assert to_plain(value) == _reference(value)
