"""Hostile text typed into the web forms: stored as typed, shown back as text (RELIABILITY S10).

- Stored: the patient form (names; medications, one per line), the planner (override
  reason), the revision form (reason), hold, resume and discontinue (reasons), the
  pharmacist's review (note) and the archive form (reason) keep what was typed, only its
  outer whitespace trimmed; the pages then show it as text.
- Shown back: a refused form is rendered again with what was typed (patient form, planner
  preview and save, revision form), a refused acknowledgement is quoted in the message, and
  the search box shows its query. Every value the plain refusal shows back, the hostile one
  shows back as text, and the hostile page has no element the plain one lacks.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import PatientRecord, PlanRecord, PlanReviewRecord, PlanVersionRecord
from app.web.forms import TEXT_FIELDS as PATIENT_FIELDS
from app.web.plan_form import TEXT_FIELDS as PLAN_FIELDS
from tests.factories.sessions import log_in
from tests.printing.summary_web import plan_form
from tests.security.hostile_corpus import (
    PAYLOADS,
    live_markup,
    markup_problems,
    missing_texts,
    packed,
    shape_of,
)
from tests.web.admin_helpers import second_client
from tests.web.helpers import HX, form_data

NAME_PACKS = packed(PAYLOADS.values(), limit=100)
PAYLOAD_LIST = list(PAYLOADS.values())


def reason(slot: str) -> str:
    return " | ".join((slot, *PAYLOAD_LIST))


@pytest.fixture
def csrf(client: TestClient) -> str:
    return log_in(client, "paula.prescriber")


def _created_id(response: Any) -> int:
    assert response.status_code == 303, response.text[:500]
    return int(response.headers["location"].rstrip("/").rsplit("/", 1)[1])


def _plain_patient(client: TestClient, csrf: str) -> int:
    """A patient registered through the form with plain values and a measured clearance of
    95 mL/min (normal kidneys)."""
    form = {**form_data(creatinine_clearance_ml_min="95"), "csrf_token": csrf}
    return _created_id(client.post("/patients", data=form))


def _shown_back(hostile: str, plain: str, typed: dict[str, tuple[str, str]]) -> list[str]:
    """Each field's (hostile, plain) value: shown back as text wherever the plain one is, or
    percent-encoded in a link that carries it on (the planner's tabs keep the indication)."""
    problems = markup_problems(hostile, plain_html=plain, payloads=[h for h, _ in typed.values()])
    hostile_shape, plain_shape = shape_of(hostile), shape_of(plain)
    for field, (text, twin) in typed.items():
        encoded = quote(text, safe="/")
        in_a_link = any(encoded in value for _, _, value in hostile_shape.attributes)
        if plain_shape.shows(twin) and not (hostile_shape.shows(text) or in_a_link):
            problems.append(f"{field}: {text[:60]!r} is not shown back")
    return problems


def _typed(fields: tuple[str, ...], offset: int = 0) -> dict[str, tuple[str, str]]:
    """A payload for each field (and a plain twin), different fields different payloads."""
    return {
        field: (PAYLOAD_LIST[(n + offset) % len(PAYLOAD_LIST)], f"Plain{n}x")
        for n, field in enumerate(fields)
    }


class TestStoredAsTyped:
    def test_every_form_keeps_the_text_and_the_pages_show_it_as_text(
        self, app: FastAPI, client: TestClient, db: Session, csrf: str
    ) -> None:
        medications = "\n".join(PAYLOAD_LIST)
        patient = form_data(
            given_name=NAME_PACKS[0], family_name=NAME_PACKS[1], medications=medications,
            creatinine_clearance_ml_min="95",
        )  # fmt: skip
        patient_id = _created_id(
            client.post(
                "/patients", data={**patient, "conditions": ["epilepsy"], "csrf_token": csrf}
            )
        )
        plan_id = _created_id(
            client.post(
                f"/patients/{patient_id}/plans",
                data=plan_form(
                    csrf, override__epilepsy=reason("override"),
                    # A.6.9: hostile names are medications nobody knows, a major finding.
                    acknowledged=["unrecognised_medication"],
                ),
            )
        )  # fmt: skip
        revision = plan_form(
            csrf, version="1", reason=reason("revision"), override__epilepsy=reason("override"),
            acknowledged=["unrecognised_medication"],
        )  # fmt: skip
        assert client.post(f"/plans/{plan_id}/revise", data=revision).status_code == 303
        self._review(app, plan_id, reason("note"))
        for action in ("hold", "resume", "discontinue"):
            form = {"reason": reason(action), "version": "2", "csrf_token": csrf}
            response = client.post(f"/plans/{plan_id}/{action}", data=form)
            assert response.status_code == 303, (action, response.text[:300])
        archived = {"reason": reason("archive"), "version": "1", "csrf_token": csrf}
        other_id = _created_id(client.post("/patients", data={**form_data(), "csrf_token": csrf}))
        assert client.post(f"/patients/{other_id}/archive", data=archived).status_code == 303

        db.expire_all()
        record = db.get(PatientRecord, patient_id)
        assert record is not None
        assert (record.given_name, record.family_name) == (NAME_PACKS[0], NAME_PACKS[1])
        # One medication per line: a line break (CR LF, U+2028) inside a payload starts a new one.
        assert record.medications == [m.strip() for m in medications.splitlines() if m.strip()]
        versions = list(
            db.scalars(select(PlanVersionRecord).where(PlanVersionRecord.plan_id == plan_id))
        )
        assert sorted((v.number, v.reason) for v in versions) == [
            (1, None),
            (2, reason("revision")),
        ]
        overrides = [json.loads(v.input_json)["overrides"] for v in versions]
        assert overrides == [[{"code": "epilepsy", "reason": reason("override")}]] * 2
        (review,) = db.scalars(select(PlanReviewRecord).where(PlanReviewRecord.plan_id == plan_id))
        assert review.note == reason("note")
        assert db.get(PlanRecord, plan_id).state_reason == reason("discontinue")  # type: ignore[union-attr]
        assert db.get(PatientRecord, other_id).archive_reason == reason("archive")  # type: ignore[union-attr]

        pages = {
            f"/plans/{plan_id}": [reason("override"), reason("revision"), reason("discontinue"),
                                  reason("note"), NAME_PACKS[0], NAME_PACKS[1]],
            f"/patients/{patient_id}": [NAME_PACKS[0], NAME_PACKS[1], *record.medications],
            f"/patients/{other_id}": [reason("archive")],
        }  # fmt: skip
        problems = []
        for url, texts in pages.items():
            page = client.get(url).text
            problems += [f"{url}: {p}" for p in live_markup(page) + missing_texts(page, texts)]
        assert problems == []

    def _review(self, app: FastAPI, plan_id: int, note: str) -> None:
        pharmacist = second_client(app)
        csrf = log_in(pharmacist, "phil.pharmacist")
        codes = re.findall(
            r'name="acknowledged" value="([^"]+)"', pharmacist.get(f"/plans/{plan_id}").text
        )
        form = {"csrf_token": csrf, "version": "2", "acknowledged": codes, "note": note}
        response = pharmacist.post(f"/plans/{plan_id}/reviews", data=form)
        assert response.status_code == 303, response.text[:300]


class TestShownBackAsText:
    def test_a_refused_patient_form_shows_every_typed_value_as_text(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        problems = []
        for offset in (0, 7, 14):  # every payload in some field
            typed = _typed(PATIENT_FIELDS, offset)
            hostile = {field: text for field, (text, _) in typed.items()}
            plain = {field: twin for field, (_, twin) in typed.items()}
            for headers in ({}, HX):
                responses = [
                    client.post("/patients", data={**values, "csrf_token": csrf}, headers=headers)
                    for values in (hostile, plain)
                ]
                assert [r.status_code for r in responses] == [422, 422]
                found = _shown_back(responses[0].text, responses[1].text, typed)
                problems += [f"offset {offset} {headers or 'page'}: {p}" for p in found]
        assert problems == []
        assert (
            db.scalars(select(PatientRecord).where(PatientRecord.mrn == "Plain0x")).first() is None
        )

    def test_the_planner_and_the_revision_form_show_every_typed_value_as_text(
        self, client: TestClient, csrf: str
    ) -> None:
        patient_id = _plain_patient(client, csrf)
        plan_id = _created_id(client.post(f"/patients/{patient_id}/plans", data=plan_form(csrf)))
        problems = []
        for offset in (0, 7, 14):
            typed = _typed((*PLAN_FIELDS, "override__epilepsy"), offset)
            hostile = {field: text for field, (text, _) in typed.items()}
            plain = {field: twin for field, (_, twin) in typed.items()}
            attempts: tuple[tuple[str, dict[str, str]], ...] = (
                (f"/patients/{patient_id}/plans/preview", HX),
                (f"/patients/{patient_id}/plans", {}),
                (f"/plans/{plan_id}/revise/preview", HX),
                (f"/plans/{plan_id}/revise", {}),
            )
            for url, headers in attempts:
                responses = [
                    client.post(
                        url, data={**values, "csrf_token": csrf, "version": "1"}, headers=headers
                    )
                    for values in (hostile, plain)
                ]
                if [r.status_code for r in responses] != [422, 422]:
                    problems.append(f"{url}: {[r.status_code for r in responses]}")
                    continue
                found = _shown_back(responses[0].text, responses[1].text, typed)
                problems += [f"offset {offset} {url}: {p}" for p in found]
        assert problems == []

    def test_a_refused_acknowledgement_is_quoted_as_text(
        self, client: TestClient, csrf: str
    ) -> None:
        patient_id = _plain_patient(client, csrf)
        url = f"/patients/{patient_id}/plans"
        plain = client.post(url, data=plan_form(csrf, acknowledged=["Plain code"]))
        assert plain.status_code == 422
        assert "Not a major finding of this plan: Plain code." in plain.text
        problems = []
        for name, payload in PAYLOADS.items():
            page = client.post(url, data=plan_form(csrf, acknowledged=[payload]))
            found = markup_problems(page.text, plain_html=plain.text, payloads=[payload])
            found += missing_texts(page.text, [f"Not a major finding of this plan: {payload}."])
            problems += [f"{name}: {p}" for p in found]
        assert problems == []

    def test_the_search_box_shows_its_query_as_text(self, client: TestClient, csrf: str) -> None:
        # Every query ends in a word no patient has, so every search finds nobody and the
        # pages differ only by the query: the browser tests commit patients with hostile
        # names into the same database, and a found row is not markup the payload made.
        nobody = f"Nobody{uuid.uuid4().hex}"
        plain = {
            headers: client.get(
                "/patients", params={"q": f"Plain words {nobody}"}, headers=HX if headers else {}
            ).text
            for headers in (False, True)
        }
        problems = []
        for name, payload in PAYLOADS.items():
            for fragment in (False, True):
                page = client.get(
                    "/patients",
                    params={"q": f"{payload} {nobody}"},
                    headers=HX if fragment else {},
                )
                found = markup_problems(page.text, plain_html=plain[fragment], payloads=[payload])
                if not fragment:  # the page holds the search box, the fragment the results
                    found += missing_texts(page.text, [payload])
                problems += [f"{name} {'fragment' if fragment else 'page'}: {p}" for p in found]
        assert problems == []
