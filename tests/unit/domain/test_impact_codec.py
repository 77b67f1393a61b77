"""What the impact report reads back from a stored version equals what was stored: the
request (plan_codec.request_from_plain) and the schedule (impact.stored_segments), for
every kind of plan. Otherwise every plan would 'change', or be recomputed from other input."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from app.domain.titration import build_plan, load_protocols
from app.domain.titration.impact import first_difference, segments, stored_segments
from app.services.plan_codec import canonical_json, request_from_plain

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from engine import CASES


def test_a_stored_request_decodes_to_the_request_it_was() -> None:
    for name, request in CASES.items():
        stored = canonical_json(request)
        assert request_from_plain(json.loads(stored)) == request, name
        assert canonical_json(request_from_plain(json.loads(stored))) == stored, name


def test_a_stored_plan_reads_back_as_the_schedule_the_engine_computed() -> None:
    protocols = load_protocols()
    for name, request in CASES.items():
        plan = build_plan(request, protocols)
        stored = json.loads(canonical_json(plan))["steps"]
        assert plan.steps, name
        assert stored_segments(stored) == segments(plan.steps), name
        since = date(2000, 1, 1)
        assert first_difference(stored_segments(stored), segments(plan.steps), since) is None


def test_stored_steps_before_the_comparison_day_are_left_out_as_computed_ones_are() -> None:
    protocols = load_protocols()
    for name, request in CASES.items():
        plan = build_plan(request, protocols)
        stored = json.loads(canonical_json(plan))["steps"]
        since = plan.steps[-1].start_date
        assert stored_segments(stored, since) == segments(plan.steps, since), name
        assert len(segments(plan.steps, since)) == 1, name
