"""Every printed document of the five issue-5 scenarios, as Chromium shows it and as the PDF
reads back: an adult, an older adult with renal impairment, a child on solution, a taper, and
intrathecal screening and titration.

For each scenario and each language (en, de, vi) the patient schedule's print page is opened
with print media emulated and read back as the text the browser renders (innerText), and its
PDF as pdftotext reads it; the clinician summary is opened the same way, in English. Each
text must carry every dose of the stored plan with its unit, written the ISMP way (no
trailing zero, no naked decimal) and in one unit system only (mg for oral, mcg for
intrathecal).

Artefacts in out/screenshots/: print-<scenario>-<lang>.png (the page as printed),
print-<scenario>-en-pdf-1.png (page 1 of the English PDF, drawn by pdftoppm) and
summary-<scenario>.png.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.browser.login import log_in_through_the_form
from tests.browser.timeouts import TIMEOUT_MS
from tests.factories.users import make_token
from tests.printing.pdf_text import (
    assert_ismp,
    assert_one_unit_system,
    pdf_pages,
    plan_doses,
    quantities,
)
from tests.printing.scenarios import SCENARIOS, Stored, store

pytestmark = pytest.mark.browser

LANGUAGES = ("en", "de", "vi")
# The identifier label every sheet prints, as each catalogue words it (a failed switch
# shows English).
LANGUAGE_MARKERS = {"en": "Date of birth", "de": "Geburtsdatum", "vi": "Ngày sinh"}


@pytest.fixture(scope="module")
def prescriber_context(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    log_in_through_the_form(page)
    page.close()
    yield context
    context.close()


@pytest.fixture(scope="module")
def api_headers(migrated_engine: Engine) -> dict[str, str]:
    with Session(migrated_engine, expire_on_commit=False) as session:
        return {"Authorization": f"Bearer {make_token(session, name='print-scenarios')}"}


def _store(live_server: str, headers: dict[str, str], scenario: str) -> Stored:
    with httpx.Client(base_url=live_server) as client:
        return store(client, headers, scenario, mrn=f"PRS-{uuid.uuid4().hex[:10]}")


def _print_media_page(context: BrowserContext) -> Page:
    """A page laid out as for paper (the print stylesheet's rules apply)."""
    page = context.new_page()
    page.emulate_media(media="print")
    return page


def _rendered_text(page: Page) -> str:
    """What the printed page says, as the browser lays it out (hidden text left out)."""
    text: str = page.evaluate("document.body.innerText")
    return text.replace("\u00a0", " ")


def _check_doses(text: str, stored: Stored, language: str, where: str) -> None:
    missing = plan_doses(stored.plan, language) - quantities(text)
    assert not missing, f"{where}: doses missing {sorted(missing)}"
    assert_ismp(text)
    assert_one_unit_system(text, intrathecal=stored.scenario.startswith("itb"))


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_scenario_prints_every_dose_with_its_unit_in_three_languages(
    prescriber_context: BrowserContext,
    live_server: str,
    api_headers: dict[str, str],
    screenshot_dir: Path,
    scenario: str,
) -> None:
    stored = _store(live_server, api_headers, scenario)
    page = _print_media_page(prescriber_context)
    for language in LANGUAGES:
        response = page.goto(f"/plans/{stored.plan_id}/print?lang={language}")
        assert response is not None
        assert response.status == 200
        assert page.locator("html").get_attribute("lang") == language
        text = _rendered_text(page)
        assert LANGUAGE_MARKERS[language] in text, f"{language}: not in its language"
        _check_doses(text, stored, language, f"print page ({language})")
        page.screenshot(path=str(screenshot_dir / f"print-{scenario}-{language}.png"))

        pdf = page.request.get(f"/plans/{stored.plan_id}/print.pdf?lang={language}")
        assert pdf.status == 200
        assert pdf.headers["content-type"] == "application/pdf"
        pdf_text = "\n".join(pdf_pages(pdf.body()))
        assert LANGUAGE_MARKERS[language] in " ".join(pdf_text.split())
        _check_doses(pdf_text, stored, language, f"PDF ({language})")
        if language == "en":
            _draw_first_page(pdf.body(), screenshot_dir / f"print-{scenario}-en-pdf")
    page.close()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_scenario_has_a_clinician_summary_with_every_dose_and_its_unit(
    prescriber_context: BrowserContext,
    live_server: str,
    api_headers: dict[str, str],
    screenshot_dir: Path,
    scenario: str,
) -> None:
    stored = _store(live_server, api_headers, scenario)
    page = _print_media_page(prescriber_context)
    response = page.goto(f"/plans/{stored.plan_id}/summary")
    assert response is not None
    assert response.status == 200
    text = _rendered_text(page)
    _check_doses(_without_creatinine_unit(text), stored, "en", "summary page")
    assert stored.plan["content_sha256"][:12] in text
    page.screenshot(path=str(screenshot_dir / f"summary-{scenario}.png"), full_page=True)

    pdf = page.request.get(f"/plans/{stored.plan_id}/summary.pdf")
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    pdf_text = "\n".join(pdf_pages(pdf.body()))
    _check_doses(_without_creatinine_unit(pdf_text), stored, "en", "summary PDF")
    page.close()


def _without_creatinine_unit(text: str) -> str:
    """The summary lists the serum creatinine the renal estimate used, in the lab's mg/dL:
    a measurement among the inputs, not a dose, so it is left out of the one-unit check."""
    return re.sub(r"\bmg/dL\b", "", text)


def _draw_first_page(pdf: bytes, prefix: Path) -> None:
    """Page 1 as PNG (pdftoppm names it <prefix>-1.png), to look at the paper itself."""
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-", str(prefix)],
        input=pdf,
        check=True,
        capture_output=True,
    )
    assert prefix.with_name(prefix.name + "-1.png").is_file()
