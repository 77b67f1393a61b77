"""The patient's print shows what A.6.7–A.6.9 add, in English, German and Vietnamese: a
baclofen medicine already on the list, a sedating mix (alcohol, two opioids), the intrathecal
ceiling, and a pump that runs low within the refill buffer."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.printing.i18n import translations
from tests.factories.patients import patient_payload

ALREADY = ("Your list of medicines already has a baclofen medicine. Take baclofen only as "
           "written in this plan and ask your doctor what to do with the other one.")  # fmt: skip
SEDATING = ("Together with some of your other medicines or with alcohol, baclofen can make you "
            "very drowsy and slow your breathing. Do not drink alcohol.")  # fmt: skip
CEILING = ("From %(date)s the dose stays at %(dose)s. Your care team checks the pump and how "
           "you respond before any further increase.")  # fmt: skip
REFILL_SOON = "Book the refill now: the pump runs low within days."


def _text(body: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _store(client: TestClient, headers: dict[str, str], patient: dict[str, Any],
           plan: dict[str, Any]) -> int:  # fmt: skip
    created = client.post("/api/v1/patients", json=patient_payload(**patient), headers=headers)
    assert created.status_code == 201, created.text
    stored = client.post(
        f"/api/v1/patients/{created.json()['id']}/plans", json=plan, headers=headers
    )
    assert stored.status_code == 201, stored.text
    return int(stored.json()["id"])


@pytest.mark.parametrize("language", ["en", "de", "vi"])
def test_the_oral_print_warns_of_baclofen_on_the_list_and_a_sedating_mix(
    prescriber: TestClient, api_headers: dict[str, str], language: str
) -> None:
    plan_id = _store(
        prescriber, api_headers,
        {"sex": "male", "weight_kg": 80, "height_cm": 180, "conditions": ["alcohol_use"],
         "medications": ["Lioresal 10 mg", "Tilidin 50 mg"]},
        {"plan_type": "oral_titration", "start_date": "2026-12-01",
         "indication": "multiple_sclerosis", "target_daily_dose": {"value": 30, "unit": "mg"},
         "acknowledged": ["baclofen_already_prescribed", "opioid", "alcohol",
                          "multiple_cns_depressants"]},
    )  # fmt: skip
    t = translations(language)
    page = _text(prescriber.get(f"/plans/{plan_id}/print?lang={language}").text)
    assert _text(t.gettext(ALREADY)) in page
    assert _text(t.gettext(SEDATING)) in page
    if language != "en":
        assert t.gettext(SEDATING) != SEDATING


@pytest.mark.parametrize("language", ["en", "de", "vi"])
def test_the_itb_print_shows_the_ceiling_and_a_refill_due_within_days(
    prescriber: TestClient, api_headers: dict[str, str], language: str
) -> None:
    plan_id = _store(
        prescriber, api_headers,
        {"sex": "male", "weight_kg": 75, "medications": []},
        {"plan_type": "itb_titration", "start_date": "2026-12-01",
         "indication": "spinal_cord_injury",
         "intrathecal": {"effective_bolus": {"value": 100, "unit": "mcg"},
                         "effect_duration_hours": 6, "step_percent": 30, "days": 20},
         "acknowledged": []},
    )  # fmt: skip
    t = translations(language)
    figures = ("reservoir_ml=10&alarm_volume_ml=2&concentration_mcg_per_ml=500"
               "&daily_dose=1000&fill_date=2026-12-20&max_refill_interval_days=90")  # fmt: skip
    page = _text(prescriber.get(f"/plans/{plan_id}/print?lang={language}&{figures}").text)
    before, _, after = _text(t.gettext(CEILING)).partition("%(date)s")
    assert before in page
    assert after.split("%(dose)s")[1].strip() in page
    assert "1000" in page
    assert _text(t.gettext(REFILL_SOON)) in page
    if language != "en":
        assert t.gettext(REFILL_SOON) != REFILL_SOON
