"""Planner pages: live preview (page vs fragment), save, revise, history, diff, state, ITB."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.sessions import log_in
from tests.web.helpers import HX, make_patient

TRAILING_ZERO = re.compile(r"\b\d+\.0+\s*(mg|mcg|mL)\b")
NAKED_DECIMAL = re.compile(r"(^|\s)\.\d")


def _plan_form(csrf: str, **overrides: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "plan_type": "oral_titration",
        "indication": "multiple_sclerosis",
        "setting": "outpatient",
        "start_date": "2031-03-03",
        "target_daily_dose": "30",
    }
    data.update(overrides)
    return data


def _schedule(page: str) -> str:
    match = re.search(r'<table class="schedule".*?</table>', page, re.S)
    assert match, "no schedule table"
    return match.group(0)


def _save(client: TestClient, patient_id: int, data: dict[str, Any]) -> int:
    response = client.post(f"/patients/{patient_id}/plans", data=data)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


@pytest.fixture
def csrf(client: TestClient) -> str:
    return log_in(client)


class TestPlannerPage:
    def test_new_plan_page_is_a_full_page_with_the_form_and_an_empty_preview(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db)
        page = client.get(f"/patients/{patient.id}/plans/new")
        assert page.status_code == 200
        assert "<html" in page.text
        assert 'id="plan-form"' in page.text
        assert 'id="plan-preview"' in page.text
        assert re.search(r'hx-post="[^"]*/plans/preview"', page.text)
        assert "Target daily dose" in page.text
        assert "mg/day" in page.text

    def test_live_preview_is_a_fragment_with_doses_in_mg(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db)
        response = client.post(
            f"/patients/{patient.id}/plans/preview", data=_plan_form(csrf), headers=HX
        )
        assert response.status_code == 200
        assert "<html" not in response.text
        assert response.text.lstrip().startswith('<section id="plan-preview"')
        assert response.headers["Vary"] == "HX-Request"
        schedule = _schedule(response.text)
        assert "Week 1" in schedule
        assert "5 mg" in schedule
        assert "mg/day" in schedule
        assert "× 5 mg tablet" in schedule
        assert "<svg" in response.text
        assert 'role="img"' in response.text
        assert "Maximum daily dose (cap)" in response.text
        assert "80 mg/day" in response.text
        assert not TRAILING_ZERO.search(response.text)
        assert not NAKED_DECIMAL.search(response.text)

    def test_preview_without_htmx_renders_the_whole_page(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db)
        response = client.post(f"/patients/{patient.id}/plans/preview", data=_plan_form(csrf))
        assert response.status_code == 200
        assert "<html" in response.text
        assert "Week 1" in response.text

    def test_target_above_the_hard_cap_is_a_message_with_422_not_a_500(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db)
        response = client.post(
            f"/patients/{patient.id}/plans/preview",
            data=_plan_form(csrf, target_daily_dose="200"),
            headers=HX,
        )
        assert response.status_code == 422
        assert "above the hard limit" in response.text
        assert 'id="plan-preview"' in response.text

    def test_oral_solution_shows_volume_and_concentration(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db)
        data = _plan_form(csrf, formulation="oral_solution", target_daily_dose="15")
        response = client.post(f"/patients/{patient.id}/plans/preview", data=data, headers=HX)
        assert response.status_code == 200, response.text
        assert re.search(r"\d+(\.\d+)? mL of 1 mg/mL = \d+(\.\d+)? mg", response.text)

    def test_a_childs_preview_shows_mg_per_kg_and_the_tablet_pieces_per_dose(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(
            db, birth_date=date(2019, 1, 1), weight_kg=Decimal("33"),
            creatinine_clearance_ml_min=Decimal("100"),
        )  # fmt: skip
        data = _plan_form(csrf, indication="cerebral_palsy", target_daily_dose="60")
        response = client.post(f"/patients/{patient.id}/plans/preview", data=data, headers=HX)
        assert response.status_code == 200, response.text
        schedule = _schedule(response.text)
        assert "0.15 mg/kg/day" in schedule
        assert "1½ × 10 mg tablets" in schedule

    def test_a_short_taper_blocks_until_overridden_and_a_longer_one_is_refused_in_the_form(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db, creatinine_clearance_ml_min=90)
        url = f"/patients/{patient.id}/plans/preview"
        taper = _plan_form(csrf, plan_type="oral_taper", current_daily_dose="80")
        short = client.post(url, data={**taper, "taper_min_days": "7"}, headers=HX)
        assert short.status_code == 200
        assert "BLOCKED" in short.text
        assert "short_taper" in short.text
        too_long = client.post(url, data={**taper, "taper_min_days": "22"}, headers=HX)
        assert too_long.status_code == 422
        assert "7 to 21 days" in too_long.text


class TestIntrathecal:
    def test_itb_titration_is_marked_intrathecal_and_shows_mcg_never_mg(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db)
        page = client.get(f"/patients/{patient.id}/plans/new?plan_type=itb_titration")
        assert "INTRATHECAL — micrograms" in page.text
        assert "itb-band" in page.text
        data = _plan_form(
            csrf,
            plan_type="itb_titration",
            target_daily_dose="",
            itb_effective_bolus="50",
            itb_effect_duration_hours="8",
        )
        response = client.post(f"/patients/{patient.id}/plans/preview", data=data, headers=HX)
        assert response.status_code == 200, response.text
        assert "INTRATHECAL — micrograms" in response.text
        schedule = _schedule(response.text)
        assert "100 mcg/day" in schedule
        assert " mg" not in schedule

    def test_screening_blocked_after_three_negative_boluses(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db)
        data = _plan_form(
            csrf,
            plan_type="itb_screening",
            screening_1="negative",
            screening_2="negative",
            screening_3="negative",
        )
        response = client.post(f"/patients/{patient.id}/plans/preview", data=data, headers=HX)
        assert "BLOCKED" in response.text
        assert "itb_screening_failed" in response.text

    def test_a_child_screening_records_a_fourth_bolus_of_100_mcg(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        child = make_patient(db, birth_date=date(2023, 1, 1), weight_kg=Decimal("20"))
        responses = {f"screening_{n}": "negative" for n in (1, 2, 3)} | {"screening_4": "positive"}
        data = _plan_form(
            csrf, plan_type="itb_screening", indication="cerebral_palsy", target_daily_dose="",
            **responses,
        )  # fmt: skip
        response = client.post(f"/patients/{child.id}/plans/preview", data=data, headers=HX)
        schedule = _schedule(response.text)
        for dose in ("25 mcg", "50 mcg", "75 mcg", "100 mcg"):
            assert dose in schedule
        assert "itb_screening_failed" not in response.text
        # The fourth answer is read: four negatives end the screening as failed.
        data["screening_4"] = "negative"
        failed = client.post(f"/patients/{child.id}/plans/preview", data=data, headers=HX)
        assert "itb_screening_failed" in failed.text

    def test_refill_calculator_gives_alarm_date_and_needs_the_alarm_volume(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db)
        data = _plan_form(
            csrf, plan_type="itb_titration", target_daily_dose="",
            itb_effective_bolus="50", itb_effect_duration_hours="8",
        )  # fmt: skip
        plan_id = _save(client, patient.id, data)
        page = client.get(f"/plans/{plan_id}")
        assert "Pump refill calculator" in page.text
        refill = {
            "csrf_token": csrf, "reservoir_ml": "20", "alarm_volume_ml": "2",
            "concentration_mcg_per_ml": "500", "daily_dose": "300", "fill_date": "2031-03-03",
            "max_refill_interval_days": "180",
        }  # fmt: skip
        response = client.post(f"/plans/{plan_id}/refill", data=refill, headers=HX)
        assert response.status_code == 200, response.text
        assert "Alarm date" in response.text
        assert "2031-04-02" in response.text
        diluted = client.post(
            f"/plans/{plan_id}/refill", data={**refill, "concentration_mcg_per_ml": "100"},
            headers=HX,
        )  # fmt: skip
        assert "diluted_concentration" in diluted.text
        no_interval = client.post(
            f"/plans/{plan_id}/refill", data={**refill, "max_refill_interval_days": ""}, headers=HX
        )
        assert no_interval.status_code == 422
        assert "maximum refill interval" in no_interval.text
        refill["alarm_volume_ml"] = ""
        response = client.post(f"/plans/{plan_id}/refill", data=refill, headers=HX)
        assert response.status_code == 422
        assert "alarm volume" in response.text
        assert "Alarm date" not in response.text


class TestSaving:
    def test_block_finding_refuses_save_until_overridden_with_a_reason(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db, conditions=("epilepsy",), creatinine_clearance_ml_min=90)
        data = _plan_form(csrf)
        preview = client.post(f"/patients/{patient.id}/plans/preview", data=data, headers=HX)
        assert "BLOCKED" in preview.text
        assert 'name="override__epilepsy"' in preview.text
        refused = client.post(f"/patients/{patient.id}/plans", data=data)
        assert refused.status_code == 422
        assert "blocked by epilepsy" in refused.text
        data["override__epilepsy"] = "Seizure-free for 10 years; neurologist agrees."
        plan_id = _save(client, patient.id, data)
        page = client.get(f"/plans/{plan_id}")
        assert "Seizure-free for 10 years" in page.text

    def test_an_override_left_over_from_a_removed_block_is_dropped_not_refused(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db, creatinine_clearance_ml_min=90, conditions=("epilepsy",))
        titration = _plan_form(csrf)
        titration["override__epilepsy"] = "Seizure-free for 10 years; neurologist agrees."
        url = f"/patients/{patient.id}/plans/preview"
        overridden = client.post(url, data=titration, headers=HX)
        assert overridden.status_code == 200
        assert "BLOCKED" not in overridden.text
        # A taper is never blocked (A.6.6), so the override no longer applies.
        taper = {**titration, "plan_type": "oral_taper", "current_daily_dose": "60"}
        tapered = client.post(url, data=taper, headers=HX)
        assert tapered.status_code == 200
        assert "45 mg/day" in _schedule(tapered.text)
        assert "not a block finding" not in tapered.text

    def test_major_finding_must_be_ticked_before_saving(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db, medications=("oxycodone",))
        data = _plan_form(csrf)
        refused = client.post(f"/patients/{patient.id}/plans", data=data)
        assert refused.status_code == 422
        assert "Acknowledge every major finding" in refused.text
        assert 'name="acknowledged" value="opioid"' in refused.text
        data["acknowledged"] = ["opioid", "renal_function_unknown"]
        plan_id = _save(client, patient.id, data)
        page = client.get(f"/plans/{plan_id}")
        assert page.status_code == 200
        assert "opioid, renal_function_unknown" in page.text

    def test_saved_plan_page_shows_version_hash_and_prescriber(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db, creatinine_clearance_ml_min=90)
        plan_id = _save(client, patient.id, _plan_form(csrf))
        page = client.get(f"/plans/{plan_id}")
        assert "Version</dt><dd>1" in page.text
        assert "paula.prescriber" in page.text
        assert "Content hash" in page.text
        listing = client.get(f"/patients/{patient.id}/plans", headers=HX)
        assert "<html" not in listing.text
        assert f"/plans/{plan_id}" in listing.text

    def test_htmx_save_answers_with_hx_redirect(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db, creatinine_clearance_ml_min=90)
        response = client.post(f"/patients/{patient.id}/plans", data=_plan_form(csrf), headers=HX)
        assert response.status_code == 204
        assert "/plans/" in response.headers["HX-Redirect"]

    def test_pharmacist_cannot_save_a_plan(self, client: TestClient, db: Session) -> None:
        patient = make_patient(db, creatinine_clearance_ml_min=90)
        token = log_in(client, "phil.pharmacist")
        response = client.post(f"/patients/{patient.id}/plans", data=_plan_form(token))
        assert response.status_code == 403
        assert "Only prescribers" in response.text


class TestRevisionAndHistory:
    def test_revision_makes_version_2_and_history_and_diff_show_both(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db, creatinine_clearance_ml_min=90)
        plan_id = _save(client, patient.id, _plan_form(csrf))
        form = client.get(f"/plans/{plan_id}/revise")
        assert form.status_code == 200
        assert 'name="version" value="1"' in form.text
        assert 'value="30"' in form.text
        data = _plan_form(csrf, target_daily_dose="45", version="1", reason="Spasticity persists.")
        response = client.post(f"/plans/{plan_id}/revise", data=data)
        assert response.status_code == 303, response.text
        history = client.get(f"/plans/{plan_id}/history")
        assert "Spasticity persists." in history.text
        assert history.text.count("superseded") >= 1
        assert "revised" in history.text
        diff = client.get(f"/plans/{plan_id}/diff?a=1&b=2")
        assert diff.status_code == 200
        assert 'class="changed"' in diff.text
        assert "45 mg/day" in diff.text

    def test_revision_needs_a_reason(self, client: TestClient, csrf: str, db: Session) -> None:
        patient = make_patient(db, creatinine_clearance_ml_min=90)
        plan_id = _save(client, patient.id, _plan_form(csrf))
        data = _plan_form(csrf, target_daily_dose="45", version="1", reason=" ")
        response = client.post(f"/plans/{plan_id}/revise", data=data)
        assert response.status_code == 422
        assert "Give a reason" in response.text

    def test_stale_revision_gets_the_409_conflict_page(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db, creatinine_clearance_ml_min=90)
        plan_id = _save(client, patient.id, _plan_form(csrf))
        first = _plan_form(csrf, target_daily_dose="45", version="1", reason="First edit.")
        assert client.post(f"/plans/{plan_id}/revise", data=first).status_code == 303
        second = _plan_form(csrf, target_daily_dose="40", version="1", reason="Second edit.")
        response = client.post(f"/plans/{plan_id}/revise", data=second)
        assert response.status_code == 409
        assert "not</strong> saved" in response.text

    def test_hold_and_discontinue_need_a_reason_and_discontinue_offers_a_taper(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db, creatinine_clearance_ml_min=90)
        plan_id = _save(client, patient.id, _plan_form(csrf))
        page = client.get(f"/plans/{plan_id}")
        assert "plan_type=oral_taper" in page.text
        empty = client.post(f"/plans/{plan_id}/hold", data={"csrf_token": csrf, "version": "1"})
        assert empty.status_code == 422
        assert "Give a reason" in empty.text
        held = {"csrf_token": csrf, "version": "1", "reason": "Admitted for surgery."}
        assert client.post(f"/plans/{plan_id}/hold", data=held).status_code == 303
        assert "on hold" in client.get(f"/plans/{plan_id}").text
        bare = {"csrf_token": csrf, "version": "1"}
        refused = client.post(f"/plans/{plan_id}/discontinue", data=bare)
        assert refused.status_code == 422
        stop = {**bare, "reason": "No benefit at review."}
        assert client.post(f"/plans/{plan_id}/discontinue", data=stop).status_code == 303
        page = client.get(f"/plans/{plan_id}")
        assert "discontinued" in page.text
        assert "Start an oral taper" in page.text

    def test_taper_link_prefills_the_current_dose(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db, creatinine_clearance_ml_min=90)
        page = client.get(
            f"/patients/{patient.id}/plans/new?plan_type=oral_taper&current_daily_dose=30"
            "&indication=multiple_sclerosis"
        )
        assert page.status_code == 200
        assert 'value="30"' in page.text
        assert "Oral taper" in page.text
        assert "Week 1" in page.text

    def test_positive_screening_links_to_titration_from_the_effective_bolus(
        self, client: TestClient, csrf: str, db: Session
    ) -> None:
        patient = make_patient(db, creatinine_clearance_ml_min=90)
        negative = _plan_form(
            csrf, plan_type="itb_screening", target_daily_dose="", screening_1="negative"
        )
        plan_id = _save(client, patient.id, negative)
        assert "Start intrathecal titration" not in client.get(f"/plans/{plan_id}").text
        patient = make_patient(db, creatinine_clearance_ml_min=90)  # one open ITB plan each
        data = _plan_form(
            csrf, plan_type="itb_screening", target_daily_dose="",
            screening_1="negative", screening_2="positive",
        )  # fmt: skip
        plan_id = _save(client, patient.id, data)
        page = client.get(f"/plans/{plan_id}")
        link = re.search(
            r'<a href="([^"]*)">Start intrathecal titration from the effective bolus</a>',
            page.text,
        )
        assert link, page.text
        href = link.group(1).replace("&amp;", "&")
        assert f"/patients/{patient.id}/plans/new?" in href
        assert "plan_type=itb_titration" in href
        assert "indication=multiple_sclerosis" in href
        assert "itb_effective_bolus=75" in href
        assert f"supersedes_plan_id={plan_id}" in href  # the titration completes the screening
        planner = client.get(href)
        assert planner.status_code == 200
        assert 'value="75"' in planner.text
        assert "INTRATHECAL — micrograms" in planner.text
