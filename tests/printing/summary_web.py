"""Helpers for the clinician-summary page tests: save plans through the planner form, read a
PDF's text with pdftotext, list every dose a stored version holds, find live markup."""

from __future__ import annotations

import json
import re
import subprocess
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, PlanVersionRecord
from app.printing.numbers import format_decimal

TRAILING_ZERO = re.compile(r"\b\d+\.0+\s*(mg|mcg|mL)\b")
NAKED_DECIMAL = re.compile(r"(^|[^\d])\.\d")
# "mg" as a dose unit; "mg/dL" (a creatinine result) is not a dose.
MG_DOSE = re.compile(r"\bmg\b(?!/dL)")
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_FAMILY = "{{7*7}}"
HOSTILE_REASON = 'hx-get="/x" <img src=x onerror=alert(1)> {{7*7}}'


def plan_form(csrf: str, **overrides: Any) -> dict[str, Any]:
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


def save_plan(client: TestClient, patient_id: int, data: dict[str, Any]) -> int:
    response = client.post(f"/patients/{patient_id}/plans", data=data)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def revise_plan(client: TestClient, plan_id: int, data: dict[str, Any]) -> None:
    response = client.post(f"/plans/{plan_id}/revise", data=data)
    assert response.status_code == 303, response.text


def pdf_text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    done = subprocess.run(
        # Reading order (no -layout): the text of one table cell stays together.
        ["pdftotext", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=60,
    )
    # Numbers and units are joined by a no-break space; read it as an ordinary one.
    return done.stdout.decode().replace("\u00a0", " ")


def stored_version(db: Session, plan_id: int, number: int) -> PlanVersionRecord:
    query = select(PlanVersionRecord).where(
        PlanVersionRecord.plan_id == plan_id, PlanVersionRecord.number == number
    )
    version = db.scalars(query).one()
    return version


def stored_doses(version: PlanVersionRecord) -> set[str]:
    """Every dose of the stored schedule as it must be printed: '5 mg', '15 mg/day'."""
    texts = set()
    for step in json.loads(version.plan_json)["steps"]:
        texts.add(_dose(step["daily_dose"]) + "/day")
        texts.update(_dose(admin["dose"]) for admin in step["administrations"])
    return texts


def print_events(db: Session, plan_id: int) -> list[AuditEventRecord]:
    query = (
        select(AuditEventRecord)
        .where(AuditEventRecord.action == "plan.print", AuditEventRecord.entity_id == str(plan_id))
        .order_by(AuditEventRecord.id)
    )
    return list(db.scalars(query))


def _dose(dose: dict[str, str]) -> str:
    return f"{format_decimal(Decimal(dose['value']))} {dose['unit']}"


class LiveMarkup(HTMLParser):
    """Collects what would be live in a browser: script elements, img elements, hx-* and on*
    attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "img"):
            self.found.append(tag)
        self.found.extend(
            name for name, _ in attrs if name.startswith("hx-") or name.startswith("on")
        )


def live_markup(page: str) -> list[str]:
    parser = LiveMarkup()
    parser.feed(page)
    return parser.found
