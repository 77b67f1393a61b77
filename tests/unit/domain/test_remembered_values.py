"""What the engine remembers between plans (issue 12) changes no answer and stays bounded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.titration import build_plan, load_protocols
from app.domain.titration import findings as findings_module
from app.domain.titration import medications as medications_module
from app.domain.titration import protocol as protocol_module
from app.domain.titration.protocol import Derived
from tests.unit.domain.builders import make_patient, make_request


def test_a_derived_value_is_made_once() -> None:
    derived, made = Derived(), []
    for _ in range(3):
        assert derived.get("key", lambda: made.append(1) or len(made)) == 1
    assert made == [1]


def test_remembered_values_start_again_at_their_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol_module, "MAX_REMEMBERED", 2)
    derived = Derived()
    assert [derived.remember(n, lambda n=n: n * 10) for n in (1, 2, 3, 1)] == [10, 20, 30, 10]
    assert len(derived._remembered) == 2  # 3 cleared the memory; 1 was made again


def test_many_patients_and_entries_get_the_answers_of_a_fresh_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Small limits force every memory to start again while plans are built; each plan
    equals the plan of freshly loaded protocols (which remember nothing yet)."""
    monkeypatch.setattr(protocol_module, "MAX_REMEMBERED", 3)
    monkeypatch.setattr(medications_module, "MAX_REMEMBERED_ENTRIES", 3)
    monkeypatch.setattr(findings_module, "MAX_REMEMBERED_FINDINGS", 5)
    shared = load_protocols()
    for weight in range(50, 58):
        medications = (f"oxycodone {weight} mg", "diazepam", f"unknown{weight}")
        patient = make_patient(weight_kg=Decimal(weight), medications=medications)
        request = make_request(patient=patient)
        assert build_plan(request, shared) == build_plan(request, load_protocols())
    assert len(shared.medications._remembered) <= 3
    assert len(shared.findings._remembered) <= 5


def test_remembered_protocol_refs_are_used_only_for_the_refs_they_were_made_from() -> None:
    from app.domain.titration.planner import _plan_refs

    protocols = load_protocols()
    drafted = (protocols.itb.ref,)
    key = ("plan_refs", id(protocols.itb.ref))
    protocols.derived._remembered[key] = ((protocols.oral_adult.ref,), ("stale",))
    refs = _plan_refs(drafted, protocols)
    assert refs[0] == protocols.itb.ref
    assert set(refs) == set(protocols.refs)
