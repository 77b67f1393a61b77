"""The impact scan gives the same outcomes, in the same order, whether it runs in this process
or spreads batches over worker processes (services/impact_scan.py): the report a pharmacist
reads must not depend on how many cores the server has."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from app.db.repositories.protocol_impact import StoredPlan
from app.domain.titration import build_plan, load_protocols
from app.domain.titration.protocol import read_protocol_bytes
from app.services.impact_scan import UNREADABLE, ChangedPlan, FailedPlan, scan
from app.services.plan_codec import canonical_json

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from engine import CASES

SINCE = date(2026, 12, 1)


def _contents(weekly_adult_steps: bool) -> dict[str, bytes]:
    read: dict[str, bytes] = {}

    def record(protocol_id: str) -> bytes:
        read[protocol_id] = read_protocol_bytes(protocol_id)
        return read[protocol_id]

    load_protocols(record)
    if weekly_adult_steps:
        document = json.loads(read["oral-adult"])
        document["parameters"]["interval_days"]["value"] = "7"
        read["oral-adult"] = json.dumps(document).encode()
    return read


def _stored_plans() -> list[StoredPlan]:
    """Every bench case at three start dates, stored as the engine computed it today, and one
    row whose input no longer decodes."""
    protocols = load_protocols()
    plans = []
    for offset in (0, 9, 20):
        for request in CASES.values():
            request = replace(request, start_date=request.start_date + timedelta(days=offset))
            number = len(plans) + 1
            plans.append(
                StoredPlan(number, 100 + number, 1, canonical_json(request),
                           canonical_json(build_plan(request, protocols)))
            )  # fmt: skip
    plans.append(StoredPlan(99, 199, 3, "{}", plans[0].plan_json))
    return plans


def test_worker_processes_report_what_one_process_reports_in_the_same_order() -> None:
    plans, contents = _stored_plans(), _contents(weekly_adult_steps=True)
    alone = list(scan(plans, contents, SINCE, workers=1))
    # Batches of four over two processes: five batches, several in flight at once.
    spread = list(scan(plans, contents, SINCE, workers=2, batch=4))
    assert spread == alone
    changed = [outcome.plan_id for outcome in alone if isinstance(outcome, ChangedPlan)]
    # The weekly adult steps change the adult titration at every start date and nothing else.
    assert changed == [1, 6, 11]
    assert alone[-1] == FailedPlan(99, 199, 3, UNREADABLE)
    assert alone.count(None) == len(plans) - 4


def test_unchanged_protocols_change_no_plan_however_the_scan_runs() -> None:
    plans, contents = _stored_plans(), _contents(weekly_adult_steps=False)
    for workers in (1, 2):
        outcomes = list(scan(plans[:-1], contents, SINCE, workers=workers, batch=4))
        assert outcomes == [None] * (len(plans) - 1)


def test_an_empty_clinic_scans_nothing() -> None:
    assert list(scan([], _contents(weekly_adult_steps=False), SINCE, workers=2)) == []
