"""The clinician summary's view model: everything it shows comes from the stored version."""

from __future__ import annotations

import json
import re

from app.printing.summary import ClinicianSummary, build_summary
from app.printing.summary_basis import Fact
from tests.printing.summary_cases import (
    ADULT_REQUEST,
    CHILD_REQUEST,
    EPILEPSY_REASON,
    ITB_REQUEST,
    OBESE_REQUEST,
    OLDER_ADULT_REQUEST,
    TAPER_REQUEST,
    stored,
)

TRAILING_ZERO = re.compile(r"\b\d+\.0+\s*(mg|mcg|mL)\b")
NAKED_DECIMAL = re.compile(r"(^|[^\d])\.\d")
NBSP = "\u00a0"
# A dose is a number, a no-break space (no line ever ends between the two) and its unit.
DOSE = re.compile(r"^\d+(\.\d*[1-9])?\u00a0(mg|mcg)(/day)?$")


def _plain(text: str) -> str:
    """Numbers and units are joined by a no-break space; compare with an ordinary one."""
    return text.replace(NBSP, " ")


def _facts(facts: tuple[Fact, ...]) -> dict[str, str]:
    return {f.label: _plain(f.value) for f in facts}


def _dose_texts(summary: ClinicianSummary) -> list[str]:
    texts = []
    for row in summary.schedule:
        texts.append(row.daily)
        texts.extend(line.dose for line in row.doses)
    return texts


def _takes(summary: ClinicianSummary) -> list[str]:
    return [_plain(line.take) for row in summary.schedule for line in row.doses]


class TestAdultWithOverrideAndAcknowledgement:
    def test_the_override_shows_its_reason_and_who_made_it(self) -> None:
        summary = build_summary(*stored(ADULT_REQUEST, acknowledged=("opioid",)))
        override = next(d for d in summary.decisions if d.kind == "override")
        assert (override.code, override.severity, override.reason) == (
            "epilepsy",
            "block",
            EPILEPSY_REASON,
        )
        assert override.by == "paula.prescriber (prescriber)"

    def test_the_acknowledged_major_finding_names_who_acknowledged_it(self) -> None:
        summary = build_summary(*stored(ADULT_REQUEST, acknowledged=("opioid",)))
        acknowledgement = next(d for d in summary.decisions if d.kind == "acknowledgement")
        assert (acknowledgement.code, acknowledgement.severity) == ("opioid", "major")
        assert acknowledgement.by == "paula.prescriber (prescriber)"

    def test_findings_are_ordered_by_severity_and_say_how_they_were_handled(self) -> None:
        summary = build_summary(*stored(ADULT_REQUEST, acknowledged=("opioid",)))
        severities = [f.severity for f in summary.findings]
        assert severities[:2] == ["block", "major"]
        assert severities == sorted(severities, key=["block", "major", "moderate", "info"].index)
        handling = {f.code: f.handling for f in summary.findings}
        assert handling["epilepsy"] == "Overridden"
        assert handling["opioid"] == "Acknowledged"
        assert handling["take_with_meals"] == ""
        assert all(f.rule and f.source and f.message for f in summary.findings)

    def test_protocol_limits_engine_and_hash_come_from_the_stored_plan(self) -> None:
        plan, version, patient = stored(ADULT_REQUEST, acknowledged=("opioid",))
        summary = build_summary(plan, version, patient)
        stored_plan = json.loads(version.plan_json)
        assert (summary.protocol.id, summary.protocol.version) == ("oral-adult", "1")
        assert summary.protocol.sha256 == stored_plan["protocol"]["sha256"]
        assert [p.id for p in summary.protocols] == [p["id"] for p in stored_plan["protocols"]]
        assert _facts(summary.limits) == {
            "Maximum daily dose (cap)": "80 mg/day",
            "Target daily dose": "30 mg/day",
        }
        assert summary.version.engine_version == stored_plan["engine_version"]
        assert summary.version.hash_short == version.content_sha256[:12]
        assert not summary.version.superseded

    def test_every_dose_carries_mg_in_ismp_style(self) -> None:
        summary = build_summary(*stored(ADULT_REQUEST, acknowledged=("opioid",)))
        doses = _dose_texts(summary)
        assert doses
        assert all(DOSE.match(text) and "mg" in text for text in doses), doses
        takes = _takes(summary)
        assert all(re.fullmatch(r"\d+ tablets? of \d+ mg", take) for take in takes), takes
        assert summary.dispense
        assert all(re.fullmatch(r"\d+ × \d+ mg tablets?", _plain(d)) for d in summary.dispense)

    def test_inputs_and_patient_data_are_those_the_version_used(self) -> None:
        summary = build_summary(*stored(ADULT_REQUEST, acknowledged=("opioid",)))
        inputs, data = _facts(summary.plan_inputs), _facts(summary.patient_data)
        assert inputs["Target daily dose"] == "30 mg/day"
        assert inputs["Start date (day 1)"] == "2031-03-03"
        assert inputs["Indication"] == "multiple sclerosis"
        assert data["Age at start"] == "41 years"
        assert data["Serum creatinine"] == "0.8 mg/dL"
        assert data["Conditions"] == "epilepsy"
        assert data["Co-medication"] == "oxycodone"
        assert data["Weight"] == "65 kg"


class TestRenalEstimate:
    def test_older_adult_with_moderate_impairment_shows_value_method_band_and_basis(
        self,
    ) -> None:
        summary = build_summary(*stored(OLDER_ADULT_REQUEST))
        renal = _facts(summary.renal)
        assert renal["Creatinine clearance used"] == "40.1 mL/min"
        assert renal["Method"] == "Cockcroft–Gault estimate"
        assert renal["Renal band"] == "moderate impairment"
        assert renal["Weight basis"] == "total body weight"
        assert renal["CrCl on ideal body weight"].endswith(" mL/min")
        assert _facts(summary.limits)["Maximum daily dose (cap)"] == "40 mg/day"
        assert {"oral-older-adult", "oral-renal"} <= {p.id for p in summary.protocols}

    def test_the_weight_basis_printed_is_the_one_used(self) -> None:
        renal = _facts(build_summary(*stored(OBESE_REQUEST)).renal)
        assert renal["Weight basis"] == "adjusted body weight"
        assert renal["Creatinine clearance used"] == renal["CrCl on adjusted body weight"]
        assert renal["Renal band"] == "normal"

    def test_an_entered_clearance_is_named_as_entered(self) -> None:
        summary = build_summary(*stored(CHILD_REQUEST))
        renal = _facts(summary.renal)
        assert renal["Creatinine clearance used"] == "95 mL/min"
        assert renal["Method"] == "entered by the clinician"
        assert _facts(summary.patient_data)["Entered creatinine clearance"] == "95 mL/min"
        assert _facts(summary.patient_data)["Age at start"] == "18 months"


class TestIntrathecal:
    def test_every_dose_is_in_mcg_and_none_in_mg(self) -> None:
        summary = build_summary(*stored(ITB_REQUEST, acknowledged=("itb_high_withdrawal_risk",)))
        assert summary.is_itb
        assert summary.unit == "mcg"
        doses = _dose_texts(summary)
        assert doses
        assert all(DOSE.match(text) and "mcg" in text for text in doses), doses
        assert _facts(summary.plan_inputs)["Effective screening bolus"] == "75 mcg"
        shown = [*doses, *(f.value for f in (*summary.limits, *summary.plan_inputs))]
        assert not any(re.search(r"\bmg\b", text) for text in shown), shown
        assert _plain(summary.schedule[0].daily) == "150 mcg/day"
        assert summary.schedule[0].doses[0].take == "by the pump, spread over 24 hours"


class TestOralSolution:
    def test_a_child_on_solution_gets_volume_with_concentration_and_dose(self) -> None:
        summary = build_summary(*stored(CHILD_REQUEST))
        takes = _takes(summary)
        assert takes
        solution = r"\d+(\.\d+)? mL of 1 mg/mL solution = \d+(\.\d+)? mg"
        assert all(re.fullmatch(solution, take) for take in takes), takes
        assert any(re.search(r"\b0\.\d", t) for t in takes), "expected a dose below 1 mg"
        every_text = _plain(" ".join([*takes, *_dose_texts(summary), *summary.dispense]))
        assert not TRAILING_ZERO.search(every_text)
        assert not NAKED_DECIMAL.search(every_text)


class TestTaper:
    def test_a_taper_shows_the_dose_it_starts_from_its_steps_down_and_the_stop_day(self) -> None:
        summary = build_summary(*stored(TAPER_REQUEST))
        inputs = _facts(summary.plan_inputs)
        assert inputs["Current daily dose"] == "60 mg/day"
        assert inputs["Reason for the taper"] == "general"
        assert "Target daily dose" not in inputs
        assert summary.protocol.id == "oral-taper"
        assert [_plain(row.daily) for row in summary.schedule] == [
            "45 mg/day",
            "30 mg/day",
            "15 mg/day",
        ]
        [stop] = summary.milestones
        assert stop.label == "Day 16 (2031-03-18)"
        assert stop.value.startswith("Stop")


class TestVersions:
    def test_an_older_version_is_superseded(self) -> None:
        summary = build_summary(*stored(OLDER_ADULT_REQUEST, number=1, current=2))
        assert summary.version.superseded
        assert (summary.version.number, summary.version.current_number) == (1, 2)

    def test_a_revision_shows_its_reason(self) -> None:
        summary = build_summary(
            *stored(OLDER_ADULT_REQUEST, number=2, current=2, reason="New creatinine result")
        )
        assert (summary.version.action, summary.version.reason) == (
            "revised",
            "New creatinine result",
        )
        assert not summary.version.superseded
