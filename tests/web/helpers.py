"""Helpers for HTML-surface tests: read CSRF tokens from pages, log in, make patients."""

from __future__ import annotations

import html
import json
import re
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from app.db.models import PatientRecord
from app.domain.patients import PatientFacts
from app.services import patients as patient_service
from app.services.context import Actor
from tests.factories.users import PASSWORD

HX = {"HX-Request": "true"}
_HIDDEN_CSRF = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]*)">')
_HX_HEADERS = re.compile(r"hx-headers='([^']*)'")
_TEST_ACTOR = Actor(kind="system", id=None, name="web-tests")


def hidden_csrf(page: str) -> str:
    """The first CSRF hidden field of a page (login form or any logged-in form)."""
    match = _HIDDEN_CSRF.search(page)
    assert match, "the page has no CSRF hidden field"
    return html.unescape(match.group(1))


def header_csrf(page: str) -> str:
    """The session CSRF token that htmx sends, from <body hx-headers=...>."""
    match = _HX_HEADERS.search(page)
    assert match, "the page has no hx-headers attribute"
    return str(json.loads(html.unescape(match.group(1)))["X-CSRF-Token"])


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> Response:
    page = client.get("/login")
    assert page.status_code == 200, page.text
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": hidden_csrf(page.text)},
    )


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def make_patient(db: Session, **overrides: Any) -> PatientRecord:
    """A committed-to-savepoint patient, made through the service as the app would."""
    values: dict[str, Any] = {
        "mrn": unique("WEB-"),
        "given_name": "Testa",
        "family_name": unique("Fictional"),
        "birth_date": date(1981, 5, 2),
        "sex": "female",
        "weight_kg": Decimal("70"),
        "height_cm": Decimal("168"),
        "serum_creatinine_value": None,
        "serum_creatinine_unit": None,
        "serum_creatinine_on": None,
        "creatinine_clearance_ml_min": None,
        "dialysis": False,
        "pregnant": False,
        "breastfeeding": False,
        "conditions": (),
        "medications": (),
        "spinal_injury_level": None,
        "brain_injury_on": None,
        "preferred_language": "en",
    }
    values.update(overrides)
    return patient_service.create_patient(
        db, actor=_TEST_ACTOR, facts=PatientFacts(**values), today=date.today()
    )


def form_data(**overrides: str) -> dict[str, str]:
    """A valid new-patient form as a browser would post it (strings only)."""
    data = {
        "given_name": "Testa",
        "family_name": unique("Formal"),
        "mrn": unique("FORM-"),
        "birth_date": "1980-01-31",
        "sex": "female",
        "preferred_language": "en",
        "weight_kg": "71.5",
        "height_cm": "170",
        "serum_creatinine_value": "",
        "serum_creatinine_unit": "mg/dL",
        "serum_creatinine_on": "",
        "creatinine_clearance_ml_min": "",
        "spinal_injury_level": "",
        "brain_injury_date": "",
        "medications": "",
    }
    data.update(overrides)
    return data
