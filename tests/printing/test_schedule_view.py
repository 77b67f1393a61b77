"""The printable schedule's view model, from a plan's stored JSON (no database, no PDF)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.domain.titration import (
    CreatinineUnit,
    Dose,
    DoseUnit,
    Indication,
    Patient,
    PlanRequest,
    PlanType,
    SerumCreatinine,
    Sex,
    build_plan,
    load_protocols,
)
from app.printing import patient_schedule
from app.printing.document import PageSetup
from app.printing.schedule import build_oral_schedule
from app.services.errors import Conflict
from app.services.plan_codec import canonical_json

PROTOCOLS = load_protocols()
ADULT = Patient(
    sex=Sex.FEMALE, birth_date=date(1982, 3, 4), weight_kg=Decimal(70),
    height_cm=Decimal(168), serum_creatinine=SerumCreatinine(Decimal("0.9"), CreatinineUnit.MG_DL),
)  # fmt: skip


def _plain(**overrides: Any) -> dict[str, Any]:
    request = PlanRequest(
        plan_type=overrides.pop("plan_type", PlanType.ORAL_TITRATION),
        start_date=date(2026, 12, 1),
        indication=overrides.pop("indication", Indication.MULTIPLE_SCLEROSIS),
        patient=overrides.pop("patient", ADULT),
        **overrides,
    )
    return dict(json.loads(canonical_json(build_plan(request, PROTOCOLS))))


def test_a_titration_prints_six_weeks_of_days_with_each_increase_marked_once() -> None:
    schedule = build_oral_schedule(_plain(target_daily_dose=Dose(Decimal(60), DoseUnit.MG)), "en")
    days = [line for week in schedule.weeks for line in week.days]
    assert [w.title for w in schedule.weeks] == [f"Week {n}" for n in range(1, 7)]
    assert [line.day for line in days] == list(range(1, 43))
    assert [line.day for line in days if line.change] == [4, 7, 10]
    assert {line.change.direction for line in days if line.change} == {"up"}
    assert schedule.times == ("Morning", "Midday", "Evening")
    assert schedule.review_date == "Jan 12, 2027"
    assert days[0].date_text == "Tue, Dec 1"
    assert days[-1].total == "60\u00a0mg"


def test_a_taper_steps_down_and_ends_with_a_stop_day_without_doses() -> None:
    plain = _plain(plan_type=PlanType.ORAL_TAPER, current_daily_dose=Dose(Decimal(80), DoseUnit.MG))
    schedule = build_oral_schedule(plain, "de")
    days = [line for week in schedule.weeks for line in week.days]
    assert {line.change.direction for line in days if line.change} == {"down"}
    assert days[-1].stop
    assert days[-1].cells == (None,) * len(schedule.times)
    assert schedule.stop_date == "16.12.2026"
    assert schedule.last_dose_date == "15.12.2026"


def test_only_weeks_with_the_same_doses_every_day_print_as_a_compact_grid() -> None:
    schedule = build_oral_schedule(_plain(target_daily_dose=Dose(Decimal(60), DoseUnit.MG)), "en")
    # Increases on days 4, 7 and 10 (weeks 1 and 2); weeks 3 to 6 hold one dose all week.
    assert [week.same_every_day for week in schedule.weeks] == [False] * 2 + [True] * 4
    taper = _plain(plan_type=PlanType.ORAL_TAPER, current_daily_dose=Dose(Decimal(80), DoseUnit.MG))
    # A week holding the stop day is never compact: that day has no doses.
    assert not build_oral_schedule(taper, "en").weeks[-1].same_every_day


def test_a_version_without_doses_is_refused_rather_than_printed_blank() -> None:
    plain = _plain(target_daily_dose=Dose(Decimal(60), DoseUnit.MG))
    plain["steps"] = []
    source = SimpleNamespace(
        patient=SimpleNamespace(given_name="Testa", family_name="Fictional",
                                birth_date=date(1982, 3, 4), preferred_language="en"),
        plan=SimpleNamespace(id=1, current_version=1),
        version=SimpleNamespace(number=1, plan_json=json.dumps(plain), content_sha256="0" * 64,
                                created_by="paula.prescriber"),
    )  # fmt: skip
    context = patient_schedule.PrintContext(
        language="en", printed_at=datetime(2026, 11, 22, tzinfo=UTC),
        zone=ZoneInfo("Europe/Berlin"), clinic=patient_schedule.ClinicContact(),
        protocols=PROTOCOLS,
    )  # fmt: skip
    with pytest.raises(Conflict):
        patient_schedule.render_schedule_html(source, context, PageSetup())  # type: ignore[arg-type]


CHILD = Patient(sex=Sex.MALE, age_years=Decimal(12), weight_kg=Decimal(33))


def test_a_childs_schedule_prints_mg_per_kg_on_the_first_day_of_each_step_in_each_language() -> (
    None
):
    plain = _plain(patient=CHILD, indication=Indication.CEREBRAL_PALSY)
    for language, first in (("en", "0.15\u00a0mg/kg"), ("de", "0,15\u00a0mg/kg")):
        days = [line for week in build_oral_schedule(plain, language).weeks for line in week.days]
        assert days[0].per_kg == first
        assert days[1].per_kg == ""
        assert [line.day for line in days if line.per_kg] == [1, 4, 7, 10, 13, 16, 19]


def test_a_schedule_whose_dose_count_changes_says_so_in_each_language() -> None:
    plain = _plain(patient=CHILD, indication=Indication.CEREBRAL_PALSY)
    assert build_oral_schedule(plain, "de").counts_change
    adult = _plain(target_daily_dose=Dose(Decimal(60), DoseUnit.MG))
    assert not build_oral_schedule(adult, "en").counts_change
    assert all(line.per_kg == "" for w in build_oral_schedule(adult, "en").weeks for line in w.days)
