"""What the engine remembers between plans (issue 12) changes no answer and stays bounded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.titration import (
    Plan,
    PlanRequest,
    build_plan,
    draft,
    load_protocols,
    oral_doses,
    steps,
)
from app.domain.titration import findings as findings_module
from app.domain.titration import medications as medications_module
from app.domain.titration import protocol as protocol_module
from app.domain.titration.protocol import Derived
from tests.unit.domain.builders import make_patient, make_request, mg


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
        # repr shows each Decimal's digits (5 and 5.0 are stored differently): exact equality.
        assert repr(build_plan(request, shared)) == repr(_fresh_plan(request))
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


def _fresh_plan(request: PlanRequest) -> Plan:
    """The plan of an engine that remembers nothing: fresh protocols, every cache emptied."""
    for cached in (
        oral_doses.divide, oral_doses._tablet_supply, oral_doses._solution_supply,
        oral_doses._tablet_step, oral_doses._strength_for, oral_doses._solution_administration,
        steps.milestone_on,
    ):  # fmt: skip
        cached.cache_clear()
    steps._remembered_steps.clear()
    draft._remembered_totals.clear()
    return build_plan(request, load_protocols())


def test_many_children_on_the_solution_get_the_answers_of_a_fresh_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(steps, "MAX_REMEMBERED_STEPS", 3)
    monkeypatch.setattr(draft, "MAX_REMEMBERED_TOTALS", 2)
    shared = load_protocols()
    for weight in ("11", "11.0", "12.5", "13", "11"):
        patient = make_patient(age_years=Decimal("1.5"), weight_kg=Decimal(weight))
        request = make_request(patient=patient)
        assert repr(build_plan(request, shared)) == repr(_fresh_plan(request))


def test_remembered_dispense_totals_start_again_at_their_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(draft, "MAX_REMEMBERED_TOTALS", 1)
    draft._remembered_totals.clear()
    shared = load_protocols()
    for target in ("30", "60", "30"):
        request = make_request(target_daily_dose=mg(target))
        totals = build_plan(request, shared).dispense
        assert len(draft._remembered_totals) == 1
        assert repr(totals) == repr(_fresh_plan(request).dispense)
