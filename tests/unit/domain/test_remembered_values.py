"""What the engine remembers between plans (issue 12) changes no answer and stays bounded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest

from app.domain.titration import (
    Plan,
    PlanRequest,
    TitrationError,
    build_plan,
    draft,
    load_protocols,
    steps,
)
from app.domain.titration import findings as findings_module
from app.domain.titration import medications as medications_module
from app.domain.titration import protocol as protocol_module
from app.domain.titration.protocol import Derived, read_protocol_bytes
from tests.unit.domain.builders import (
    creatinine,
    forget_remembered_values,
    make_patient,
    make_request,
    mg,
    packaged_with,
)


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


def _fresh_plan(request: PlanRequest, read: Callable[[str], bytes] = read_protocol_bytes) -> Plan:
    """The plan of an engine that remembers nothing: fresh protocols, every cache emptied."""
    forget_remembered_values()
    return build_plan(request, load_protocols(read))


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


def test_an_adults_remembered_titration_is_used_only_for_the_same_dosing_fields() -> None:
    """Each request differs from the one before it in one field the adult titration reads
    (or in a Decimal's digits only); on shared protocols each plan equals a fresh engine's.
    The protocols allow 25 mg doses, so 90 mg/day can be given (in hospital only)."""
    from datetime import timedelta

    from app.domain.titration import Formulation, Setting

    read = packaged_with("oral-adult", max_single_dose_mg="25")
    light = make_patient(weight_kg=Decimal(80), serum_creatinine=creatinine("0.4"))
    base = make_request(target_daily_dose=mg(30), patient=light)
    requests = [
        base,
        replace(base, target_daily_dose=mg("30.0")),
        replace(base, target_daily_dose=mg(45)),
        replace(base, current_daily_dose=mg(20)),
        replace(base, current_daily_dose=mg("20.0")),
        replace(base, start_date=base.start_date + timedelta(days=1)),
        replace(base, setting=Setting.INPATIENT, target_daily_dose=mg(90)),
        replace(base, target_daily_dose=mg(90)),  # refused as an outpatient
        replace(base, step_interval_days=7),
        replace(base, doses_per_day=2),
        replace(base, formulation=Formulation.ORAL_SOLUTION),
        # Too light for tablets, the kidneys in the same band (the same regimen).
        replace(base, patient=replace(light, weight_kg=Decimal(30))),
        replace(base, patient=replace(light, weight_kg=Decimal("30.0"))),
        replace(base, patient=replace(light, age_years=Decimal(70))),  # the older adults' row
    ]
    shared = load_protocols(read)
    for request in requests * 2:  # the second round meets every combination again
        assert _outcome(lambda request=request: build_plan(request, shared)) == _outcome(
            lambda request=request: _fresh_plan(request, read)
        ), request


def _outcome(make: Callable[[], Plan]) -> str:
    try:
        return repr(make())
    except TitrationError as error:
        return f"refused: {error.message}"
