"""The clinician summary on the web surface: the printable page and its PDF (issue 5).

Plans are saved through the planner form as a prescriber would; the PDF text is read back
with pdftotext and checked against the doses the stored version holds.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.sessions import log_in
from tests.printing.summary_web import (
    HOSTILE_FAMILY,
    HOSTILE_NAME,
    HOSTILE_REASON,
    MG_DOSE,
    NAKED_DECIMAL,
    TRAILING_ZERO,
    live_markup,
    pdf_text,
    plan_form,
    print_events,
    revise_plan,
    save_plan,
    stored_doses,
    stored_version,
)
from tests.web.helpers import make_patient

EPILEPSY_REASON = "Seizure-free for 10 years; the neurologist agrees."
SUPERSEDED = "SUPERSEDED — do not use"


@pytest.fixture
def csrf(client: TestClient) -> str:
    return log_in(client, "paula.prescriber")


def _adult_plan(client: TestClient, db: Session, csrf: str, **patient: object) -> int:
    """SC-09 with an opioid: epilepsy is a block to override, the opioid a major finding."""
    record = make_patient(
        db, conditions=("epilepsy",), medications=("oxycodone",),
        serum_creatinine_value=Decimal("0.8"), serum_creatinine_unit="mg/dL",
        serum_creatinine_on=date(2026, 11, 1), **patient,
    )  # fmt: skip
    data = plan_form(csrf, override__epilepsy=EPILEPSY_REASON, acknowledged=["opioid"])
    return save_plan(client, record.id, data)


def _no_store(response: object) -> bool:
    return response.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]


class TestAdultSummary:
    def test_page_shows_the_override_with_its_reason_and_the_acknowledgement_with_who(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        plan_id = _adult_plan(client, db, csrf)
        response = client.get(f"/plans/{plan_id}/summary")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert _no_store(response)
        page = response.text
        decisions = re.search(r'<table class="summary-table decisions">.*?</table>', page, re.S)
        assert decisions, "no overrides and acknowledgements table"
        rows = re.findall(r"<tr class=\"decision decision-(\w+)\">(.*?)</tr>", decisions[0], re.S)
        by_kind = {kind: text for kind, text in rows}
        assert EPILEPSY_REASON in by_kind["override"]
        assert "epilepsy (block)" in by_kind["override"]
        assert "paula.prescriber (prescriber)" in by_kind["override"]
        assert "opioid (major)" in by_kind["acknowledgement"]
        assert "paula.prescriber (prescriber)" in by_kind["acknowledgement"]
        assert "oral-adult version 1" in page
        version = stored_version(db, plan_id, 1)
        assert version.content_sha256 in page
        assert f'href="/plans/{plan_id}/summary.pdf?version=1"' in page
        assert live_markup(page) == []  # a print page runs no script

    def test_each_print_is_an_audited_read_naming_document_format_and_version(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        plan_id = _adult_plan(client, db, csrf)
        assert client.get(f"/plans/{plan_id}/summary").status_code == 200
        assert client.get(f"/plans/{plan_id}/summary.pdf?version=1").status_code == 200
        events = print_events(db, plan_id)
        assert [e.detail for e in events] == [
            {"document": "clinician_summary", "version": 1, "format": f, "language": "en"}
            for f in ("html", "pdf")
        ]
        assert all(e.actor_name == "paula.prescriber" and e.patient_id for e in events)

    def test_pdf_text_holds_every_dose_with_its_unit_protocol_and_decisions(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        plan_id = _adult_plan(client, db, csrf)
        response = client.get(f"/plans/{plan_id}/summary.pdf")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        assert _no_store(response)
        assert response.headers["content-disposition"] == (
            f'attachment; filename="plan-{plan_id}-v1-clinician-summary.pdf"'
        )
        text = pdf_text(response.content)
        doses = stored_doses(stored_version(db, plan_id, 1))
        assert {"5 mg", "10 mg", "30 mg/day"} <= doses
        missing = [dose for dose in doses if dose not in text]
        assert missing == []
        assert not TRAILING_ZERO.search(text)
        assert not NAKED_DECIMAL.search(text)
        assert "mcg" not in text
        assert "oral-adult version 1" in text
        flat = " ".join(text.split())
        assert EPILEPSY_REASON in flat
        assert "paula.prescriber" in flat
        assert "Acknowledged" in flat
        assert "Overridden" in flat


class TestRenalSummary:
    def test_older_adult_shows_clearance_method_band_and_weight_basis(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        # SC-04: 72-year-old woman, 55 kg, creatinine 1.1 mg/dL, stroke, amlodipine.
        patient = make_patient(
            db, birth_date=date(1959, 1, 1), weight_kg=Decimal("55"), height_cm=Decimal("160"),
            serum_creatinine_value=Decimal("1.1"), serum_creatinine_unit="mg/dL",
            serum_creatinine_on=date(2026, 11, 1), medications=("amlodipine",),
        )  # fmt: skip
        majors = [
            "cerebrovascular_disease",
            "elderly_renal_impairment",
            "moderate_renal_impairment",
        ]
        data = plan_form(csrf, indication="stroke", target_daily_dose="20", acknowledged=majors)
        plan_id = save_plan(client, patient.id, data)
        text = " ".join(pdf_text(client.get(f"/plans/{plan_id}/summary.pdf").content).split())
        assert "Creatinine clearance used: 40.1 mL/min" in text
        assert "Method: Cockcroft–Gault estimate" in text
        assert "Renal band: moderate impairment" in text
        assert "Weight basis: total body weight" in text
        assert "Age at start: 72 years" in text
        assert "Maximum daily dose (cap): 40 mg/day" in text
        assert all(dose in text for dose in stored_doses(stored_version(db, plan_id, 1)))


class TestIntrathecalSummary:
    def test_itb_summary_is_marked_intrathecal_and_every_dose_is_mcg_never_mg(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        patient = make_patient(
            db, sex="male", weight_kg=Decimal("75"), height_cm=Decimal("180"),
            serum_creatinine_value=Decimal("0.9"), serum_creatinine_unit="mg/dL",
            serum_creatinine_on=date(2026, 11, 1), spinal_injury_level="T4",
        )  # fmt: skip
        data = plan_form(
            csrf, plan_type="itb_titration", indication="spinal_cord_injury", target_daily_dose="",
            itb_effective_bolus="75", itb_effect_duration_hours="6",
            acknowledged=["itb_high_withdrawal_risk"],
        )  # fmt: skip
        plan_id = save_plan(client, patient.id, data)
        page = client.get(f"/plans/{plan_id}/summary").text
        assert '<p class="route-banner">INTRATHECAL — micrograms</p>' in page
        text = pdf_text(client.get(f"/plans/{plan_id}/summary.pdf").content)
        assert "INTRATHECAL — micrograms" in text
        doses = stored_doses(stored_version(db, plan_id, 1))
        assert "150 mcg/day" in doses
        assert all(dose.split()[1].startswith("mcg") for dose in doses)
        assert [dose for dose in doses if dose not in text] == []
        # The creatinine result keeps its own unit (mg/dL); no dose is ever written in mg.
        assert "0.9 mg/dL" in text
        assert not MG_DOSE.search(text)
        assert not MG_DOSE.search(re.sub(r"<[^>]+>", " ", page))
        assert not TRAILING_ZERO.search(text)


class TestVersions:
    def test_a_superseded_version_prints_the_banner_and_the_current_one_does_not(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        plan_id = _adult_plan(client, db, csrf)
        revision = plan_form(
            csrf, target_daily_dose="45", version="1", reason="Spasticity persists.",
            override__epilepsy=EPILEPSY_REASON, acknowledged=["opioid"],
        )  # fmt: skip
        revise_plan(client, plan_id, revision)
        old = client.get(f"/plans/{plan_id}/summary?version=1").text
        assert '<p class="superseded-banner" role="alert">' in old
        assert "1 of 2 (superseded)" in old
        current = client.get(f"/plans/{plan_id}/summary").text
        assert SUPERSEDED not in current
        assert "2 of 2 (current)" in current
        assert "Spasticity persists." in current
        old_pdf = pdf_text(client.get(f"/plans/{plan_id}/summary.pdf?version=1").content)
        assert SUPERSEDED in old_pdf
        assert "30 mg/day" in old_pdf
        new_pdf = pdf_text(client.get(f"/plans/{plan_id}/summary.pdf?version=2").content)
        assert SUPERSEDED not in new_pdf
        assert "45 mg/day" in new_pdf

    @pytest.mark.parametrize(
        ("query", "status"),
        [("?version=99", 404), ("?version=0", 400), ("?version=abc", 400), ("?version=", 400)],
    )
    def test_a_bad_version_is_a_clear_error_never_a_500(
        self, client: TestClient, db: Session, csrf: str, query: str, status: int
    ) -> None:
        plan_id = _adult_plan(client, db, csrf)
        for path in (f"/plans/{plan_id}/summary", f"/plans/{plan_id}/summary.pdf"):
            response = client.get(path + query)
            assert response.status_code == status, path
            assert response.headers["content-type"].startswith("text/html")
        assert print_events(db, plan_id) == []

    def test_an_unknown_plan_is_a_404_page(self, client: TestClient, csrf: str) -> None:
        assert client.get("/plans/987654321/summary").status_code == 404
        assert client.get("/plans/987654321/summary.pdf").status_code == 404


class TestAccess:
    def test_a_viewer_may_read_plans_but_not_print_them(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        plan_id = _adult_plan(client, db, csrf)
        client.cookies.clear()
        log_in(client, "vera.viewer")
        assert client.get(f"/plans/{plan_id}").status_code == 200
        assert client.get(f"/plans/{plan_id}/summary").status_code == 403
        assert client.get(f"/plans/{plan_id}/summary.pdf").status_code == 403
        assert print_events(db, plan_id) == []

    def test_a_pharmacist_may_print(self, client: TestClient, db: Session, csrf: str) -> None:
        plan_id = _adult_plan(client, db, csrf)
        client.cookies.clear()
        log_in(client, "phil.pharmacist")
        assert client.get(f"/plans/{plan_id}/summary").status_code == 200


class TestHostileText:
    def test_names_and_reasons_are_text_in_the_page_and_in_the_pdf(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        patient = make_patient(
            db, given_name=HOSTILE_NAME, family_name=HOSTILE_FAMILY, conditions=("epilepsy",),
            creatinine_clearance_ml_min=Decimal("95"),
        )  # fmt: skip
        plan_id = save_plan(client, patient.id, plan_form(csrf, override__epilepsy=HOSTILE_REASON))
        revision = plan_form(
            csrf, target_daily_dose="40", version="1", reason=HOSTILE_NAME,
            override__epilepsy=HOSTILE_REASON,
        )  # fmt: skip
        revise_plan(client, plan_id, revision)
        page = client.get(f"/plans/{plan_id}/summary").text
        assert live_markup(page) == []
        assert HOSTILE_NAME not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "{{7*7}}" in page
        assert "hx-get=&#34;/x&#34;" in page
        text = pdf_text(client.get(f"/plans/{plan_id}/summary.pdf").content)
        squeezed = re.sub(r"\s+", "", text)
        assert f"{HOSTILE_NAME}{HOSTILE_FAMILY}" in squeezed  # the name in the header
        assert re.sub(r"\s+", "", HOSTILE_REASON) in squeezed  # the override's reason
        assert squeezed.count(HOSTILE_NAME) >= 2  # the name and the revision's reason
