"""What a protocol edit may change: §11's allowed ranges and the hard limits in code."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.domain.titration.protocol import Protocol, parse_protocol, read_protocol_bytes
from app.domain.titration.protocol_limits import (
    ALLOWED_RANGES,
    HARD_LIMITS,
    Bound,
    LimitProblem,
    _bound,
    limit_problems,
)
from tests.unit.domain.test_properties import SETTINGS

PARAMETER_PROTOCOLS = (
    "oral-adult", "oral-older-adult", "oral-renal", "oral-paediatric", "oral-taper", "itb",
    "formulations",
)  # fmt: skip


def edited(protocol_id: str, **values: str) -> Protocol:
    document = json.loads(read_protocol_bytes(protocol_id))
    for name, value in values.items():
        document["parameters"][name]["value"] = value
    return parse_protocol(protocol_id, json.dumps(document).encode())


def test_every_packaged_protocol_is_within_its_limits() -> None:
    for protocol_id in PARAMETER_PROTOCOLS:
        assert limit_problems(edited(protocol_id)) == ()


def test_every_bound_names_a_parameter_of_its_protocol_and_a_source() -> None:
    for table in (ALLOWED_RANGES, HARD_LIMITS):
        for protocol_id, bounds in table.items():
            parameters = edited(protocol_id).sources
            for name, bound in bounds.items():
                assert name in parameters
                assert bound.source
                assert bound.low is not None or bound.high is not None


def test_a_bound_is_exact_and_an_open_side_stays_open() -> None:
    # The tables are built once at import; the builder itself must keep "0.5" exact and
    # never turn a missing side into a limit (a "None" low would refuse nothing, a 0 would).
    assert _bound(None, "0.5", "src") == Bound(None, Decimal("0.5"), "src")
    assert _bound("3", None, "src") == Bound(Decimal(3), None, "src")
    assert _bound("0.1", "0.5", "src") == Bound(Decimal("0.1"), Decimal("0.5"), "src")


def test_the_hard_limits_of_issue_17_refuse_with_their_reason() -> None:
    cases = {
        ("oral-adult", "cap_outpatient_mg_day", "80.5"): "at most 80; R-OA-5",
        ("oral-older-adult", "cap_mg_day", "81"): "at most 80",
        ("oral-renal", "mild_cap_mg_day", "90"): "at most 80",
        ("itb", "ceiling_mcg_day", "2001"): "at most 2000; A.6",
        ("itb", "hard_limit_mcg_day", "2500"): "at most 2000",
        ("oral-taper", "step_fraction", "0.51"): "at most 0.5; A.2",
    }
    (problem,) = limit_problems(edited("itb", ceiling_mcg_day="2001"))
    assert problem.message == (
        "2001 is outside the hard limit (at most 2000; A.6: 2000 mcg/day is the intrathecal "
        "hard ceiling)"
    )
    for (protocol_id, name, value), reason in cases.items():
        (problem,) = limit_problems(edited(protocol_id, **{name: value}))
        assert problem.parameter == name
        assert "the hard limit" in problem.message
        assert reason in problem.message


def test_allowed_ranges_refuse_below_and_above_and_name_the_range() -> None:
    problems = limit_problems(
        edited("oral-adult", start_mg_day="4", step_mg_day="16", interval_days="2")
    )
    assert problems == (
        LimitProblem("start_mg_day", "4 is outside the allowed range (5 to 15; "
                     "CLINICAL_RULES §11 adult_start_mg_day 5–15)"),
        LimitProblem("step_mg_day", "16 is outside the allowed range (5 to 15; "
                     "CLINICAL_RULES §11 adult_step_mg_day 5–15)"),
        LimitProblem("interval_days", "2 is outside the allowed range (at least 3; "
                     "CLINICAL_RULES §11 adult interval_days ≥ 3)"),
    )  # fmt: skip
    (spinal,) = limit_problems(edited("itb", spinal_step_percent_max="31"))
    assert "allowed range (at most 30" in spinal.message


def test_a_protocol_without_bounds_has_no_problems() -> None:
    assert "formulations" not in ALLOWED_RANGES
    assert "formulations" not in HARD_LIMITS
    assert limit_problems(edited("formulations", solution_step_adult_mg="99")) == ()


@SETTINGS
@given(cap=st.decimals(min_value=0, max_value=1000, places=1))
def test_no_outpatient_cap_above_80_mg_day_passes(cap: Decimal) -> None:
    problems = limit_problems(edited("oral-adult", cap_outpatient_mg_day=str(cap)))
    refused = [p for p in problems if p.parameter == "cap_outpatient_mg_day"]
    assert bool(refused) == (cap > 80)


@SETTINGS
@given(fraction=st.decimals(min_value=0, max_value=1, places=3))
def test_no_taper_cut_above_half_passes(fraction: Decimal) -> None:
    problems = limit_problems(edited("oral-taper", step_fraction=str(fraction)))
    assert bool(problems) == (fraction > Decimal("0.5"))


@SETTINGS
@given(ceiling=st.integers(min_value=0, max_value=10_000))
def test_no_intrathecal_ceiling_above_2000_mcg_day_passes(ceiling: int) -> None:
    problems = limit_problems(edited("itb", ceiling_mcg_day=str(ceiling)))
    assert bool(problems) == (ceiling > 2000)
