"""Hostile text in every free-text field is shown as text everywhere (RELIABILITY.md S10).

Free-text fields a user can fill, and where each is covered:

- patient given and family name, co-medications, archive reason; plan override reasons,
  revision reason, hold / resume / discontinue reasons; the pharmacist's review note; the
  names of API tokens (shown as prescriber, reviewer and audit actor): stored through the
  API here (`hostile_cases.py`) and fetched from every page, htmx fragment, print page, PDF,
  FHIR and iCalendar export, audit page and CSV, and API read that shows them
  (`hostile_pages.py`; a route inventory check keeps that list complete);
- the same fields typed into the web forms, and what the forms show back when they refuse
  (patient form, planner, revision form, refused acknowledgements, search box):
  `test_hostile_forms.py`;
- clinic names, token names in the admin pages, usernames (refused: ASCII letters, digits,
  '.' and '_' only), usernames typed at login and the audit filters (both stored in audit
  details): `test_hostile_admin.py`;
- MRN and spinal injury level (refused: strict patterns), NUL and bidirectional controls
  (refused everywhere), and lengths at and above each field's maximum:
  `test_hostile_limits.py`.

Every payload of the corpus goes into every slot: reasons, notes and medications take all
of them at once; names (at most 100 characters) take them packed into six strings, which
three cases rotate through the patient-name and token-name slots. A fourth case fills every
slot to its maximum length. Each hostile page is compared with the same page of a case
built from plain text (see `hostile_corpus.shown_as_text`); the iCalendar file names no
patient and carries no typed text at all, by design, so it is checked for exactly that.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord
from app.web.routes.audit import CSV_COLUMNS, FORMULA_TRIGGERS
from tests.factories.routes import iter_routes
from tests.factories.sessions import log_in
from tests.security.hostile_cases import (
    MAX_LENGTH,
    MAX_MEDICATION_LENGTH,
    MAX_MEDICATIONS,
    TEXT_SLOTS,
    Case,
    Texts,
    build_case,
    plain_texts,
)
from tests.security.hostile_corpus import (
    PAYLOADS,
    long_text,
    missing_texts,
    off_the_paper,
    packed,
    pdf_shows,
    pdf_text,
    shown_as_often,
    shown_as_text,
)
from tests.security.hostile_pages import (
    ADMIN,
    ADMIN_ROUTES,
    DOCUMENT_ROUTES,
    SHOWS_NO_FREE_TEXT,
    clinical_pages,
)
from tests.web.admin_helpers import second_client
from tests.web.helpers import HX

NAME_PACKS = packed(PAYLOADS.values(), limit=100)
# Six name slots for six packs: each rotation moves every pack two slots on, so over the
# three rotations each pack is once a patient's name and once an API token's name.
NAME_SLOTS = ("given", "family", "token", "token_b", "given_b", "family_b")
ROTATIONS = (0, 2, 4)
LINK = "https://example.invalid/" + "a" * 276  # a pasted link: one 300-character word


def rotated_texts(rotation: int, *, every_payload_in_reasons: bool = True) -> Texts:
    """Names from the packs and every payload as a medication; every payload in every
    reason too, or else one pack in each reason."""
    # Each reason names its slot, so that each text can be counted apart from the others.
    slots = {slot: " | ".join((slot, *PAYLOADS.values())) for slot in TEXT_SLOTS}
    if not every_payload_in_reasons:
        packs = NAME_PACKS[rotation:] + NAME_PACKS[:rotation]
        slots = {slot: f"{slot} | {packs[n % len(packs)]}" for n, slot in enumerate(TEXT_SLOTS)}
    for offset, slot in enumerate(NAME_SLOTS):
        slots[slot] = NAME_PACKS[(rotation + offset) % len(NAME_PACKS)]
    return Texts(slots, tuple(PAYLOADS.values()))


def longest_texts(*, reasons_in_full: bool = True) -> Texts:
    """Every slot at its maximum length, as one word (the hardest text to lay out). Without
    `reasons_in_full`, reasons hold a 300-character link instead (see the PDF test)."""
    slots = {
        slot: long_text(MAX_LENGTH[slot], seed=f"{slot[:2]}{n}<")
        for n, slot in enumerate(TEXT_SLOTS)
    }
    if not reasons_in_full:
        slots.update({slot: f"{slot}: {LINK}" for slot in slots if MAX_LENGTH[slot] > 100})
    return Texts(slots, (long_text(MAX_MEDICATION_LENGTH),) * MAX_MEDICATIONS)


CASES = {f"names-{n}": rotated_texts(n) for n in ROTATIONS}
CASES["longest"] = longest_texts()
# Long reasons are slow to lay out (WeasyPrint balancing the summary's two-column facts: a
# reason of 2000 characters takes tens of seconds), so the PDFs get every payload in the
# reasons once, and the longest names and words with reasons holding a long link.
PDF_CASES = {
    "names-0": CASES["names-0"],
    **{f"names-{n}": rotated_texts(n, every_payload_in_reasons=False) for n in ROTATIONS[1:]},
    "longest": longest_texts(reasons_in_full=False),
}


def shown(case: Case, slots: tuple[str, ...]) -> list[str]:
    """The texts of `slots` as the case stored them."""
    texts: list[str] = []
    for slot in slots:
        if slot == "medications":
            texts += case.texts.medications
        elif slot == "mrn":
            texts.append(case.mrn)
        else:
            texts.append(case.texts[slot])
    return texts


def every_text(case: Case) -> list[str]:
    return [*case.texts.slots.values(), *case.texts.medications]


def counted_pairs(plain: Case, case: Case) -> list[tuple[str, str]]:
    """(hostile, plain) text of each slot and the MRN, where the count means something: a
    text that is part of another text of the case (a name pack of one payload that is also
    a medication) is found inside that one too."""
    pairs = [(case.texts[slot], plain.texts[slot]) for slot in TEXT_SLOTS]
    pairs.append((case.mrn, plain.mrn))
    texts = [*every_text(case), case.mrn]
    return [(text, twin) for text, twin in pairs if sum(text in other for other in texts) == 1]


@pytest.fixture
def admin(app: FastAPI, client: TestClient) -> TestClient:
    """ada.admin in a browser of her own (the audit pages); `client` is the prescriber's.
    Not entered as a context: that would run the lifespan again, off the test's transaction."""
    browser = second_client(app)
    log_in(browser, "ada.admin")
    return browser


@pytest.fixture
def case(request: pytest.FixtureRequest, client: TestClient, db: Session) -> Case:
    built = build_case(client, db, PDF_CASES[request.param])
    log_in(client, "paula.prescriber")
    return built


@pytest.fixture
def cases(request: pytest.FixtureRequest, client: TestClient, db: Session) -> tuple[Case, Case]:
    """(plain, hostile): the same records, once from plain text, once from the corpus."""
    hostile_texts = CASES[request.param]
    plain = build_case(client, db, plain_texts(hostile_texts))
    hostile = build_case(client, db, hostile_texts)
    log_in(client, "paula.prescriber")
    return plain, hostile


@pytest.mark.parametrize("cases", CASES, indirect=True)
def test_pages_and_fragments_show_every_text_as_text(
    cases: tuple[Case, Case], client: TestClient, admin: TestClient
) -> None:
    plain, hostile = cases
    problems: list[str] = []
    for plain_page, page in zip(clinical_pages(plain), clinical_pages(hostile), strict=True):
        browser = admin if page.viewer == ADMIN else client
        headers = HX if page.htmx else {}
        plain_html = _html(browser.get(plain_page.url, headers=headers))
        hostile_html = _html(browser.get(page.url, headers=headers))
        found = shown_as_text(
            hostile_html, shown(hostile, page.shows), plain_html=plain_html,
            payloads=every_text(hostile),
        )  # fmt: skip
        found += shown_as_often(hostile_html, plain_html, counted_pairs(plain, hostile))
        # The plain case shows its texts in the same places: the expectation is not vacuous.
        found += [f"(plain) {p}" for p in missing_texts(plain_html, shown(plain, page.shows))]
        problems += [f"{page.name}: {problem}" for problem in found]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("case", PDF_CASES, indirect=True)
def test_pdfs_print_every_text_in_full(case: Case, client: TestClient) -> None:
    plan, stopped = f"/plans/{case.plan}", f"/plans/{case.stopped_plan}"
    summary = ("given", "family", "mrn", "medications", "revision", "hold", "token", "override")
    documents: list[tuple[str, dict[str, str], tuple[str, ...]]] = [
        (f"{plan}/print.pdf", {}, ("given", "family", "token")),
        (f"{plan}/summary.pdf", {}, summary),
    ]
    if case.texts == PDF_CASES["names-0"]:  # once: the same documents, more slowly
        documents += [
            (f"{stopped}/summary.pdf", {}, ("discontinue", "token_b")),
            # The API hands out the same documents.
            (f"/api/v1{plan}/schedule.pdf", case.headers, ("given", "family", "token")),
            (f"/api/v1{plan}/summary.pdf", case.headers, summary),
        ]
    problems = []
    for url, headers, slots in documents:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.text[:500])
        text = pdf_text(response.content)
        problems += [
            f"{url}: {t[:80]!r} missing" for t in shown(case, slots) if not pdf_shows(text, t)
        ]
        cut_off = off_the_paper(response.content)
        if cut_off:
            problems.append(f"{url}: printed off the paper: {cut_off[:200]!r}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("cases", CASES, indirect=True)
def test_exports_and_api_reads_carry_every_text_verbatim(
    cases: tuple[Case, Case], client: TestClient, admin: TestClient, db: Session
) -> None:
    plain, case = cases
    for url, headers in (
        (f"/plans/{case.plan}/fhir.json", {}),
        (f"/api/v1/plans/{case.plan}/fhir", case.headers),
    ):
        bundle = client.get(url, headers=headers)
        assert bundle.status_code == 200, bundle.text
        strings = set(_strings(json.loads(bundle.content)))
        assert set(shown(case, ("given", "family", "mrn", "hold"))) <= strings, url
    stopped = json.loads(client.get(f"/plans/{case.stopped_plan}/fhir.json").content)
    assert case.texts["discontinue"] in set(_strings(stopped))

    for kind, headers in (("web", {}), ("api", case.headers)):
        prefix = "/api/v1" if kind == "api" else ""
        path = f"{prefix}/plans/{{}}/calendar.ics"
        plain_ics = client.get(path.format(plain.plan), headers=plain.headers if headers else {})
        hostile_ics = client.get(path.format(case.plan), headers=headers)
        assert _calendar_shape(hostile_ics.content) == _calendar_shape(plain_ics.content), kind
        unfolded = hostile_ics.content.decode().replace("\r\n ", "")
        # No event names the patient, and nothing else typed by a person reaches the file.
        leaked = [t[:40] for t in every_text(case) if t in unfolded]
        assert leaked == [], kind

    _check_audit_csv(admin, db, case)
    _check_api_reads(client, case)


def _check_audit_csv(admin: TestClient, db: Session, case: Case) -> None:
    token = case.texts["token"]
    response = admin.get("/audit/report.csv", params={"user": token})
    assert response.status_code == 200, response.text
    header, *events = list(csv.reader(io.StringIO(response.text, newline="")))
    assert header == list(CSV_COLUMNS)
    # One row per event, however many line breaks the texts hold.
    stored = db.scalar(
        select(func.count())
        .select_from(AuditEventRecord)
        .where(AuditEventRecord.actor_name == token)
    )
    assert len(events) == stored
    assert all(len(row) == len(CSV_COLUMNS) for row in events)
    column = {name: [row[n] for row in events] for n, name in enumerate(CSV_COLUMNS)}
    assert set(column["actor_name"]) == {_as_cell(token)}
    reasons = shown(case, ("revision", "hold", "resume", "archive"))
    assert {_as_cell(reason) for reason in reasons} <= set(column["reason"])


def _check_api_reads(client: TestClient, case: Case) -> None:
    texts, headers = case.texts, case.headers

    def get(url: str) -> Any:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    patient = get(f"/api/v1/patients/{case.patient_a}")
    assert (patient["given_name"], patient["family_name"]) == (texts["given"], texts["family"])
    assert tuple(patient["medications"]) == texts.medications
    found = get(f"/api/v1/patients?q={case.mrn}")["items"]
    assert [p["family_name"] for p in found] == [texts["family"]]
    assert get(f"/api/v1/patients/{case.patient_b}")["archive_reason"] == texts["archive"]
    plan = get(f"/api/v1/plans/{case.plan}")
    assert (plan["reason"], plan["state_reason"]) == (texts["revision"], texts["hold"])
    assert plan["created_by"] == texts["token"]
    assert [o["reason"] for o in plan["overrides"]] == [texts["override"]]
    versions = get(f"/api/v1/plans/{case.plan}/versions")
    assert [v["reason"] for v in versions] == [None, texts["revision"]]
    reviews = get(f"/api/v1/plans/{case.plan}/reviews")
    assert [(r["note"], r["reviewed_by"]) for r in reviews] == [(texts["note"], texts["token"])]
    listed = get(f"/api/v1/patients/{case.patient_a}/plans")
    assert {p["state_reason"] for p in listed} == {texts["hold"], texts["discontinue"]}
    assert {p["created_by"] for p in listed} == {texts["token"], texts["token_b"]}


def test_every_get_route_is_walked_or_shows_no_free_text(app: FastAPI) -> None:
    walked = {page.route for page in clinical_pages(_NO_CASE)}
    accounted = walked | DOCUMENT_ROUTES | ADMIN_ROUTES | set(SHOWS_NO_FREE_TEXT)
    routes = {path for method, path, _ in iter_routes(app) if method == "GET"}
    assert routes - accounted == set()
    assert accounted - routes == set(), "listed routes that no longer exist"


_NO_CASE = Case(CASES["longest"], "HX0", 1, 2, 3, 4, {})


def _html(response: Any) -> str:
    assert response.status_code == 200, (str(response.url), response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    return str(response.text)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _calendar_shape(content: bytes) -> list[tuple[str | None, tuple[str, ...]]]:
    """Each component with its property names: a line break in data would add one."""
    calendar = Calendar.from_ical(content)
    return [(c.name, tuple(sorted(c.keys()))) for c in calendar.walk()]


def _as_cell(text: str) -> str:
    """A text as the audit CSV writes it: a would-be formula starts with an apostrophe."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text
