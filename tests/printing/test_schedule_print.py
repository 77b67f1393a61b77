"""The patient's printed schedule, page and PDF, for every kind of plan (issue 5).

Plans are stored through the API; a prescriber prints them from the web. The PDF is read back
with pdftotext and checked the way a pharmacist would: every dose with its unit, ISMP numbers,
one unit system, the two identifiers, version, short hash, prescriber and date printed.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.printing.pdf_text import (
    assert_ismp,
    assert_one_unit_system,
    pdf_pages,
    plan_doses,
    quantities,
)
from tests.printing.scenarios import SCENARIOS, Stored, store

INTRATHECAL_BANNER = "INTRATHECAL — micrograms (mcg)"
SUPERSEDED = "SUPERSEDED — do not use"


def english_date(value: date) -> str:
    return f"{value:%b} {value.day}, {value.year}"


def page_text(body: str) -> str:
    """A page's visible words, roughly: tags dropped, entities and non-breaking spaces undone."""
    return html.unescape(re.sub(r"<[^>]+>", " ", body)).replace("\u00a0", " ")


# What each scenario's page must say besides its doses (from the stored plan, in English).
EXPECTED_WORDS = {
    "adult": ["1 tablet of 20 mg", "1½ tablets of 10 mg", "Take each dose with a meal",
              "Review date: Jan 12, 2027", "New dose from today: 30 mg a day (higher)"],
    "older_renal": ["Your kidneys remove baclofen more slowly", "1 tablet of 5 mg",
                    "Review date: Jan 12, 2027"],
    # The volume the carer measures first, the mg and the strength after it.
    "child_solution": ["1.3 mL = 1.3 mg (1 mg/mL solution)",
                       "Check that the bottle says 1 mg/mL", "Night"],
    "taper": ["Stop: from today, take no more baclofen.", "From Dec 16, 2026, take no more",
              "New dose from today: 40 mg a day (lower)", "signs of withdrawal"],
    # No pump yet: the test-day advice, not the pump's warning signs.
    "itb_screening": ["1.5 mL of 50 mcg/mL, by lumbar puncture", "Effect after 4 to 8 hours",
                      "Tell a nurse straight away if you feel very sleepy"],
    "itb_titration": ["150 mcg a day", "262 mcg a day", "Pump card: intrathecal baclofen",
                      "itching without a rash", "a two-tone alarm is urgent"],
}  # fmt: skip


def _identifiers(stored: Stored) -> list[str]:
    patient, plan = stored.patient, stored.plan
    printed = datetime.now(ZoneInfo("Europe/Berlin")).date()
    return [
        f"{patient['given_name']} {patient['family_name']}",
        english_date(date.fromisoformat(patient["birth_date"])),
        f"Plan {stored.plan_id}, version 1",
        plan["content_sha256"][:12],
        plan["created_by"],
        english_date(printed),
    ]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_kind_of_plan_prints_every_dose_with_its_unit(
    prescriber: TestClient, api_headers: dict[str, str], scenario: str
) -> None:
    stored = store(prescriber, api_headers, scenario)
    intrathecal = scenario.startswith("itb")

    page = prescriber.get(f"/plans/{stored.plan_id}/print")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert '<html lang="en"' in page.text
    assert "<script" not in page.text
    assert "style=" not in page.text
    words = " ".join(page_text(page.text).split())
    assert plan_doses(stored.plan) <= quantities(words)
    for expected in EXPECTED_WORDS[scenario]:
        assert expected in words, expected
    if scenario == "itb_screening":
        assert "pump" not in words.lower()

    pdf = prescriber.get(f"/plans/{stored.plan_id}/print.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["cache-control"] == "no-store"
    disposition = pdf.headers["content-disposition"]
    assert disposition == (f'inline; filename="baclofen-schedule-plan-{stored.plan_id}-v1-en.pdf"')
    pages = pdf_pages(pdf.content)
    text = "\n".join(pages)
    missing = plan_doses(stored.plan) - quantities(text)
    assert missing == set(), f"doses missing from the PDF: {missing}"
    assert_ismp(text)
    assert_one_unit_system(text, intrathecal=intrathecal)
    flat = " ".join(text.split())
    for expected in _identifiers(stored):
        assert expected in flat, expected
    assert SUPERSEDED not in text
    if intrathecal:
        assert all(INTRATHECAL_BANNER in p for p in pages), "a page lacks the intrathecal banner"


def test_a_superseded_version_says_so_on_every_page_and_the_current_one_does_not(
    prescriber: TestClient, api_headers: dict[str, str]
) -> None:
    stored = store(prescriber, api_headers, "taper")
    revised = prescriber.post(
        f"/api/v1/plans/{stored.plan_id}/versions",
        json={**SCENARIOS["taper"][1], "current_daily_dose": {"value": 60, "unit": "mg"},
              "reason": "Lower starting dose"},
        headers={**api_headers, "If-Match": '"1"'},
    )  # fmt: skip
    assert revised.status_code == 201, revised.text

    old = prescriber.get(f"/plans/{stored.plan_id}/print.pdf?version=1")
    pages = pdf_pages(old.content)
    assert len(pages) > 1
    assert all(SUPERSEDED in p for p in pages)
    assert f"Plan {stored.plan_id}, version 1" in " ".join(pages[0].split())
    assert "60 mg" in pages[0]  # version 1 cuts 80 mg/day to 60 first

    current = prescriber.get(f"/plans/{stored.plan_id}/print")
    assert SUPERSEDED not in current.text
    assert f"Plan {stored.plan_id}, version 2" in page_text(current.text)
    assert SUPERSEDED in prescriber.get(f"/plans/{stored.plan_id}/print?version=1").text
    assert prescriber.get(f"/plans/{stored.plan_id}/print?version=3").status_code == 404


def test_a_german_pdf_has_german_words_commas_and_german_dates(
    prescriber: TestClient, api_headers: dict[str, str]
) -> None:
    stored = store(prescriber, api_headers, "child_solution", preferred_language="de")
    pdf = prescriber.get(f"/plans/{stored.plan_id}/print.pdf")  # the patient's language
    assert pdf.headers["content-disposition"].endswith('-de.pdf"')
    text = "\n".join(pdf_pages(pdf.content))
    flat = " ".join(text.split())
    assert plan_doses(stored.plan, "de") <= quantities(text)
    for expected in ["Ihr Baclofen-Plan", "Geburtsdatum: 01.06.2021", "Zur Nacht", "1,3 mL",
                     "Nicht plötzlich absetzen", "Woche 1 · 01.12.2026 – 07.12.2026",
                     "Kontrolltermin: 12.01.2027",
                     "Prüfen Sie, dass auf der Flasche 1 mg/mL"]:  # fmt: skip
        assert expected in flat, expected
    page = " ".join(page_text(prescriber.get(f"/plans/{stored.plan_id}/print").text).split())
    assert "1,3 mL = 1,3 mg (Lösung 1 mg/mL)" in page
    assert "Gesamt pro Tag" in page
    assert "1.3 mg" not in text
    assert "Morning" not in text
    assert_ismp(text)


def test_a_vietnamese_pdf_keeps_its_diacritics_and_its_units(
    prescriber: TestClient, api_headers: dict[str, str]
) -> None:
    stored = store(
        prescriber, api_headers, "itb_titration",
        given_name="Thử", family_name="Nguyễn Giả", preferred_language="vi",
    )  # fmt: skip
    pdf = prescriber.get(f"/plans/{stored.plan_id}/print.pdf?lang=vi")
    pages = pdf_pages(pdf.content)
    flat = " ".join(" ".join(pages).split())
    for expected in ["Thử Nguyễn Giả", "Thẻ bơm: baclofen nội tủy", "150 mcg mỗi ngày",
                     "Dấu hiệu cảnh báo", "ngứa mà không có phát ban", "4 thg 4, 1992",
                     "1 thg 12"]:  # fmt: skip
        assert expected in flat, expected
    assert all("NỘI TỦY (INTRATHECAL) — microgam (mcg)" in p for p in pages)
    assert_one_unit_system(" ".join(pages), intrathecal=True)


def test_the_page_switches_language_by_link_and_refuses_an_unknown_one(
    prescriber: TestClient, api_headers: dict[str, str]
) -> None:
    stored = store(prescriber, api_headers, "adult")
    page = prescriber.get(f"/plans/{stored.plan_id}/print?lang=vi&version=1").text
    assert '<html lang="vi"' in page
    assert "Lịch dùng baclofen của bạn" in page
    assert f'href="http://testserver/plans/{stored.plan_id}/print?version=1&amp;lang=de"' in page
    assert '<strong aria-current="page" lang="vi">Tiếng Việt</strong>' in page
    assert f"/plans/{stored.plan_id}/print.pdf?lang=vi&amp;version=1" in page
    refused = prescriber.get(f"/plans/{stored.plan_id}/print?lang=fr")
    assert refused.status_code == 400
    assert "Unknown language: choose English (en), Deutsch (de)" in refused.text
    assert prescriber.get(f"/plans/{stored.plan_id}/print.pdf?lang=xx").status_code == 400


def test_each_print_is_audited_with_its_document_format_language_and_version(
    prescriber: TestClient, api_headers: dict[str, str], db: Any
) -> None:
    from sqlalchemy import select

    from app.db.models import AuditEventRecord

    stored = store(prescriber, api_headers, "itb_screening", preferred_language="de")
    assert prescriber.get(f"/plans/{stored.plan_id}/print").status_code == 200
    rows = db.scalars(
        select(AuditEventRecord).where(
            AuditEventRecord.action == "plan.print",
            AuditEventRecord.entity_id == str(stored.plan_id),
        )
    ).all()
    assert [(r.actor_name, r.detail) for r in rows] == [
        ("paula.prescriber", {"document": "patient_schedule", "version": 1,
                              "language": "de", "format": "html"}),
    ]  # fmt: skip
    assert rows[0].patient_id == stored.patient["id"]


def test_a_viewer_may_not_print_and_an_unknown_plan_is_404(
    prescriber: TestClient, api_headers: dict[str, str], app: Any
) -> None:
    from tests.factories.sessions import log_in

    stored = store(prescriber, api_headers, "adult")

    def as_user(username: str) -> TestClient:
        # A second browser on the same app (no second lifespan: it shares the test database).
        other = TestClient(app, base_url="http://testserver", follow_redirects=False)
        log_in(other, username)
        return other

    assert as_user("vera.viewer").get(f"/plans/{stored.plan_id}/print").status_code == 403
    assert as_user("phil.pharmacist").get(f"/plans/{stored.plan_id}/print").status_code == 200
    assert prescriber.get("/plans/999999/print").status_code == 404


def test_the_pump_card_takes_the_pumps_figures_and_guesses_no_date_without_them(
    prescriber: TestClient, api_headers: dict[str, str]
) -> None:
    stored = store(prescriber, api_headers, "itb_titration")
    url = f"/plans/{stored.plan_id}/print"
    figures = (
        "reservoir_ml=40&alarm_volume_ml=2&concentration_mcg_per_ml=500&fill_date=2026-12-07"
        "&max_refill_interval_days=180"
    )
    # On 7 December the plan runs 262 mcg/day: (40 − 2) × 500 / 262 = 72.5 days to the alarm.
    card = page_text(prescriber.get(f"{url}?{figures}").text)
    for expected in ["262 mcg a day from Dec 7, 2026", "500 mcg/mL", "Feb 17, 2027",
                     "Feb 12, 2027 to Feb 14, 2027"]:  # fmt: skip
        assert expected in " ".join(card.split()), expected

    blank = prescriber.get(f"{url}?reservoir_ml=40&concentration_mcg_per_ml=500").text
    assert blank.count('class="write-in') >= 2  # alarm date and refill window left to write in
    assert "2027" not in page_text(blank).split("Pump card")[1]
    # Without the maximum refill interval (A.6.8) no date is printed either.
    no_interval = prescriber.get(f"{url}?{figures.split('&max_refill')[0]}").text
    assert "2027" not in page_text(no_interval).split("Pump card")[1]

    wrong = prescriber.get(
        f"{url}?reservoir_ml=10&alarm_volume_ml=20&concentration_mcg_per_ml=500"
        "&max_refill_interval_days=180"
    )
    assert wrong.status_code == 422
    assert prescriber.get(f"{url}?reservoir_ml=-1").status_code == 400


@pytest.mark.parametrize(
    "query",
    ["daily_dose=1E-999999", "daily_dose=1E%2B999999", "reservoir_ml=0.000000000001",
     "concentration_mcg_per_ml=123456789012345678901234567890", "fill_date=9999-12-31"],
)  # fmt: skip
def test_pump_figures_no_decimal_or_date_can_hold_are_refused_not_a_500(
    prescriber: TestClient, api_headers: dict[str, str], query: str
) -> None:
    """Issue 13: `daily_dose=1E-999999` on the print page was a 500."""
    stored = store(prescriber, api_headers, "itb_titration")
    figures = (
        "reservoir_ml=40&alarm_volume_ml=2&concentration_mcg_per_ml=500"
        "&max_refill_interval_days=180"
    )
    web = prescriber.get(f"/plans/{stored.plan_id}/print?{figures}&{query}")
    assert 400 <= web.status_code < 500, web.text
    api = prescriber.get(
        f"/api/v1/plans/{stored.plan_id}/schedule.pdf?{figures}&{query}", headers=api_headers
    )
    assert 400 <= api.status_code < 500, api.text


def test_the_clinic_contact_comes_from_the_settings(
    prescriber: TestClient, api_headers: dict[str, str], app: Any
) -> None:
    blank = store(prescriber, api_headers, "itb_screening")
    assert 'class="write-in"' in prescriber.get(f"/plans/{blank.plan_id}/print").text
    app.state.settings = app.state.settings.model_copy(
        update={"clinic_name": "Spasticity Clinic (test)", "clinic_phone": "+00 000 0000"}
    )
    words = page_text(prescriber.get(f"/plans/{blank.plan_id}/print").text)
    assert "Spasticity Clinic (test)" in words
    assert "+00 000 0000" in words


def test_a_letter_pdf_is_letter_sized_and_a4_is_the_default(
    prescriber: TestClient, api_headers: dict[str, str]
) -> None:
    import subprocess

    stored = store(prescriber, api_headers, "itb_screening")

    def size(query: str) -> str:
        pdf = prescriber.get(f"/plans/{stored.plan_id}/print.pdf{query}").content
        info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
        return re.search(rb"Page size:\s+(.+?) pts", info.stdout).group(1).decode()  # type: ignore[union-attr]

    assert size("") == "595.276 x 841.89"  # A4
    assert size("?paper=letter") == "612 x 792"  # US Letter
