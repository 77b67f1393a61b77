"""What free-text fields refuse: strict patterns, unsafe characters, lengths (RELIABILITY S10).

- MRN and spinal injury level take strict patterns: every payload of the corpus is refused
  (API: 422 naming the field; web form: 422 with the message next to the field, the typed
  value shown back as text) and nothing is stored.
- NUL and the explicit bidirectional controls (`REFUSED_PAYLOADS`, app/domain/text.py) are
  refused in every field: API 422 naming the field; web 400 for any query or form value (a
  dependency on the whole web router). Nothing is stored.
- Every free-text field takes its maximum length and refuses one character more: API 422;
  web 422 with the message at the field where a rule checks the length (patient names, MRN,
  medications, revision and override reasons, review note), 400 where the route's Form or
  Query limit does (archive and state reasons, search text: the page's `maxlength` stops a
  person typing more). Never a 500, never stored. Usernames, token and clinic names:
  `test_hostile_admin.py`.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import PatientRecord, PlanRecord, PlanReviewRecord, PlanVersionRecord
from tests.factories.patients import patient_payload
from tests.factories.sessions import log_in
from tests.factories.users import make_token
from tests.printing.summary_web import plan_form, save_plan
from tests.security.hostile_corpus import (
    PAYLOADS,
    REFUSED_PAYLOADS,
    long_text,
    markup_problems,
    missing_texts,
)
from tests.web.admin_helpers import second_client
from tests.web.helpers import HX, form_data, make_patient

STRICT_FIELDS = {
    "mrn": "MRN: 1–40 letters, digits",
    "spinal_injury_level": "Spinal level like C6, T4, L1 or S2.",
}


@pytest.fixture
def headers(db: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(db)}"}


@pytest.fixture
def csrf(client: TestClient) -> str:
    return log_in(client, "paula.prescriber")


def _count(db: Session, model: type[Any]) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _oral_plan(client: TestClient, headers: dict[str, str], **patient: Any) -> int:
    body = patient_payload(conditions=["epilepsy"], **patient)
    created = client.post("/api/v1/patients", json=body, headers=headers)
    assert created.status_code == 201, created.text
    plan = client.post(
        f"/api/v1/patients/{created.json()['id']}/plans",
        json={
            "plan_type": "oral_titration", "start_date": "2031-03-03",
            "indication": "multiple_sclerosis", "target_daily_dose": {"value": 30, "unit": "mg"},
            "overrides": [{"code": "epilepsy", "reason": "Seizure-free for ten years."}],
        },
        headers=headers,
    )  # fmt: skip
    assert plan.status_code == 201, plan.text
    return int(plan.json()["id"])


def _refused_by_the_api(response: Any, *loc: object) -> list[str]:
    if response.status_code != 422:
        return [f"{loc}: {response.status_code} {response.text[:200]}"]
    locs = [error["loc"] for error in response.json()["errors"]]
    return [] if ["body", *loc] in locs else [f"{loc}: refused at {locs}"]


class TestStrictFields:
    def test_the_api_refuses_every_payload(
        self, client: TestClient, db: Session, headers: dict[str, str]
    ) -> None:
        stored = _count(db, PatientRecord)
        problems = []
        for field in STRICT_FIELDS:
            for payload in PAYLOADS.values():
                body = patient_payload(**{field: payload})
                response = client.post("/api/v1/patients", json=body, headers=headers)
                problems += _refused_by_the_api(response, field)
        assert problems == []
        assert _count(db, PatientRecord) == stored

    def test_the_web_form_refuses_every_payload_and_shows_it_back_as_text(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        stored = _count(db, PatientRecord)
        problems = []
        for field, message in STRICT_FIELDS.items():
            plain = client.post(
                "/patients", data={**form_data(**{field: "Plain x"}), "csrf_token": csrf}
            )
            for name, payload in PAYLOADS.items():
                data = {**form_data(**{field: payload}), "csrf_token": csrf}
                for headers in ({}, HX):  # the page, and the form alone as htmx swaps it
                    page = client.post("/patients", data=data, headers=headers)
                    kind = "fragment" if headers else "page"
                    if page.status_code != 422 or message not in page.text:
                        problems.append(f"{field} {name} {kind}: {page.status_code}, no message")
                        continue
                    if not headers:
                        found = markup_problems(
                            page.text, plain_html=plain.text, payloads=[payload]
                        )
                        found += missing_texts(page.text, [payload])
                        problems += [f"{field} {name}: {p}" for p in found]
        assert problems == []
        assert _count(db, PatientRecord) == stored


class TestRefusedCharacters:
    def test_the_api_refuses_them_in_every_kind_of_field(
        self, client: TestClient, db: Session, headers: dict[str, str]
    ) -> None:
        plan_id = _oral_plan(client, headers)
        patients, versions = _count(db, PatientRecord), _count(db, PlanVersionRecord)
        problems = []
        for name, text in REFUSED_PAYLOADS.items():
            for field, value in (("given_name", text), ("medications", ["Aspirin", text])):
                response = client.post(
                    "/api/v1/patients", json=patient_payload(**{field: value}), headers=headers
                )
                problems += [f"{name}: {p}" for p in _refused_by_the_api(response, field)]
            response = client.post(
                f"/api/v1/plans/{plan_id}/hold", json={"reason": text}, headers=headers
            )
            problems += [f"{name}: {p}" for p in _refused_by_the_api(response, "reason")]
            response = client.post(
                f"/api/v1/plans/{plan_id}/reviews",
                json={"acknowledged": [], "note": text},
                headers={**headers, "If-Match": '"1"'},
            )
            problems += [f"{name}: {p}" for p in _refused_by_the_api(response, "note")]
        assert problems == []
        assert (_count(db, PatientRecord), _count(db, PlanVersionRecord)) == (patients, versions)
        assert db.get(PlanRecord, plan_id).state == "active"  # type: ignore[union-attr]

    def test_the_web_refuses_them_in_any_form_or_query_value_with_a_400(
        self, client: TestClient, db: Session, csrf: str, headers: dict[str, str]
    ) -> None:
        plan_id = _oral_plan(client, headers)
        stored = _count(db, PatientRecord)
        problems = []
        for name, text in REFUSED_PAYLOADS.items():
            attempts = {
                "new patient": client.post(
                    "/patients", data={**form_data(given_name=text), "csrf_token": csrf}
                ),
                "new patient (htmx)": client.post(
                    "/patients",
                    data={**form_data(family_name=text), "csrf_token": csrf},
                    headers=HX,
                ),
                "hold": client.post(
                    f"/plans/{plan_id}/hold",
                    data={"reason": text, "version": "1", "csrf_token": csrf},
                ),
                "search": client.get("/patients", params={"q": text}),
                "planner query": client.get("/patients/1/plans/new", params={"indication": text}),
            }
            for what, response in attempts.items():
                if response.status_code != 400 or "Text may not contain" not in response.text:
                    problems.append(f"{name} in {what}: {response.status_code}")
        assert problems == []
        assert _count(db, PatientRecord) == stored
        assert db.get(PlanRecord, plan_id).state == "active"  # type: ignore[union-attr]


class TestLengthsThroughTheApi:
    def test_one_character_above_each_maximum_is_a_422_and_nothing_is_stored(
        self, client: TestClient, db: Session, headers: dict[str, str]
    ) -> None:
        plan_id = _oral_plan(client, headers)
        counts = [
            _count(db, model) for model in (PatientRecord, PlanVersionRecord, PlanReviewRecord)
        ]
        over = {"given_name": 101, "family_name": 101, "mrn": 41}
        problems = []
        for field, length in over.items():
            body = patient_payload(**{field: long_text(length, seed="Ab1")})
            response = client.post("/api/v1/patients", json=body, headers=headers)
            problems += _refused_by_the_api(response, field)
        loc: tuple[object, ...]
        for medications, loc in (
            ([long_text(101)], ("medications", 0)),
            ([f"Med{n}" for n in range(51)], ("medications",)),
        ):
            response = client.post(
                "/api/v1/patients", json=patient_payload(medications=medications), headers=headers
            )
            problems += _refused_by_the_api(response, *loc)
        patient_id = db.get(PlanRecord, plan_id).patient_id  # type: ignore[union-attr]
        requests: list[tuple[str, dict[str, Any], tuple[object, ...]]] = [
            (f"/api/v1/patients/{patient_id}/archive", {"reason": long_text(1001)}, ("reason",)),
            (f"/api/v1/plans/{plan_id}/hold", {"reason": long_text(2001)}, ("reason",)),
            (f"/api/v1/plans/{plan_id}/reviews", {"acknowledged": [], "note": long_text(2001)},
             ("note",)),
            (f"/api/v1/plans/{plan_id}/versions", {
                "plan_type": "oral_titration", "indication": "multiple_sclerosis",
                "reason": long_text(2001),
                "overrides": [{"code": "epilepsy", "reason": long_text(2001)}],
            }, ("reason",)),
        ]  # fmt: skip
        for url, body, loc in requests:
            response = client.post(url, json=body, headers={**headers, "If-Match": '"1"'})
            problems += _refused_by_the_api(response, *loc)
        assert problems == []
        assert [
            _count(db, m) for m in (PatientRecord, PlanVersionRecord, PlanReviewRecord)
        ] == counts

    def test_an_mrn_of_forty_characters_is_stored(
        self, client: TestClient, headers: dict[str, str]
    ) -> None:
        mrn = "MRN-" + "7" * 36
        response = client.post("/api/v1/patients", json=patient_payload(mrn=mrn), headers=headers)
        assert response.status_code == 201, response.text
        assert response.json()["mrn"] == mrn


class TestLengthsThroughTheWebForms:
    def test_patient_fields_at_their_maximum_are_stored_and_one_more_is_a_field_message(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        at_most = form_data(
            given_name=long_text(100), family_name=long_text(100), mrn="W" * 40,
            medications="\n".join([long_text(100)] * 50),
        )  # fmt: skip
        saved = client.post("/patients", data={**at_most, "csrf_token": csrf})
        assert saved.status_code == 303, saved.text
        record = db.scalars(select(PatientRecord).where(PatientRecord.mrn == "W" * 40)).one()
        assert (record.given_name, record.family_name) == (long_text(100), long_text(100))
        assert record.medications == [long_text(100)] * 50
        stored = _count(db, PatientRecord)
        messages = {
            "given_name": "Enter a name of 1–100 characters.",
            "family_name": "Enter a name of 1–100 characters.",
            "mrn": "MRN: 1–40 letters",
            "medications": "Up to 50 medication names of 1–100 characters each.",
        }
        too_long = {
            "given_name": long_text(101), "family_name": long_text(101), "mrn": "W" * 41,
            "medications": long_text(101),
        }  # fmt: skip
        problems = []
        for field, value in [*too_long.items(), ("medications", "\n".join(["Med"] * 51))]:
            page = client.post(
                "/patients", data={**form_data(**{field: value}), "csrf_token": csrf}
            )
            if page.status_code != 422 or messages[field] not in (
                _field_error(page.text, field) or ""
            ):
                problems.append(f"{field}: {page.status_code} {_field_error(page.text, field)!r}")
        assert problems == []
        assert _count(db, PatientRecord) == stored

    def test_reasons_and_notes_at_their_maximum_are_stored_and_one_more_is_refused(
        self, app: FastAPI, client: TestClient, db: Session, csrf: str
    ) -> None:
        patient = make_patient(
            db, conditions=("epilepsy",), creatinine_clearance_ml_min=Decimal("95")
        )
        plan_id = save_plan(client, patient.id, plan_form(csrf, override__epilepsy=long_text(2000)))
        versions = _count(db, PlanVersionRecord)
        # One more: a field message (revision, override), the form's limit (hold).
        revise = plan_form(csrf, version="1", override__epilepsy="Seizure-free.")
        refused = {
            "revision": client.post(
                f"/plans/{plan_id}/revise", data={**revise, "reason": long_text(2001)}
            ),
            "override": client.post(
                f"/patients/{patient.id}/plans",
                data=plan_form(csrf, override__epilepsy=long_text(2001)),
            ),
            "hold": client.post(
                f"/plans/{plan_id}/hold",
                data={"reason": long_text(2001), "version": "1", "csrf_token": csrf},
            ),
            "archive": client.post(
                f"/patients/{patient.id}/archive",
                data={"reason": long_text(1001), "version": "1", "csrf_token": csrf},
            ),
        }
        assert {what: r.status_code for what, r in refused.items()} == {
            "revision": 422, "override": 422, "hold": 400, "archive": 400,
        }  # fmt: skip
        assert "Give a reason of at most 2000 characters." in refused["revision"].text
        assert "Override reasons of at most 2000 characters: epilepsy." in refused["override"].text
        assert _count(db, PlanVersionRecord) == versions
        plan = db.get(PlanRecord, plan_id)
        assert plan is not None
        assert plan.state == "active"
        assert db.get(PatientRecord, patient.id).archived_at is None  # type: ignore[union-attr]
        # At the maximum: stored as typed.
        saved = client.post(f"/plans/{plan_id}/revise", data={**revise, "reason": long_text(2000)})
        assert saved.status_code == 303, saved.text
        held = client.post(
            f"/plans/{plan_id}/hold",
            data={"reason": long_text(2000, seed="Ho<"), "version": "2", "csrf_token": csrf},
        )
        assert held.status_code == 303, held.text
        db.expire_all()
        latest = db.scalars(
            select(PlanVersionRecord).where(PlanVersionRecord.plan_id == plan_id)
            .order_by(PlanVersionRecord.number.desc())
        ).first()  # fmt: skip
        assert latest is not None
        assert latest.reason == long_text(2000)
        assert db.get(PlanRecord, plan_id).state_reason == long_text(2000, seed="Ho<")  # type: ignore[union-attr]
        self._review_note_limits(app, db, plan_id)

    def _review_note_limits(self, app: FastAPI, db: Session, plan_id: int) -> None:
        pharmacist = second_client(app)
        csrf = log_in(pharmacist, "phil.pharmacist")
        page = pharmacist.get(f"/plans/{plan_id}").text
        codes = re.findall(r'name="acknowledged" value="([^"]+)"', page)
        review = {"csrf_token": csrf, "version": "2", "acknowledged": codes}
        refused = pharmacist.post(
            f"/plans/{plan_id}/reviews", data={**review, "note": long_text(2001)}
        )
        assert refused.status_code == 422
        assert "At most 2000 characters." in refused.text
        reviews = select(PlanReviewRecord).where(PlanReviewRecord.plan_id == plan_id)
        assert db.scalars(reviews).all() == []
        saved = pharmacist.post(
            f"/plans/{plan_id}/reviews", data={**review, "note": long_text(2000)}
        )
        assert saved.status_code == 303, saved.text
        (stored,) = db.scalars(select(PlanReviewRecord).where(PlanReviewRecord.plan_id == plan_id))
        assert stored.note == long_text(2000)

    def test_a_search_longer_than_the_box_is_a_400(self, client: TestClient, csrf: str) -> None:
        assert client.get("/patients", params={"q": long_text(100)}).status_code == 200
        assert client.get("/patients", params={"q": long_text(101)}).status_code == 400


def _field_error(page: str, field: str) -> str | None:
    """The message shown at a field of the patient form (medications' has no id)."""
    pattern = rf'<p class="field-error" id="e-{field}">([^<]*)</p>'
    if field == "medications":
        pattern = r'id="f-medications".*?<p class="field-error">([^<]*)</p>'
    match = re.search(pattern, page, re.S)
    return html.unescape(match.group(1)) if match else None
