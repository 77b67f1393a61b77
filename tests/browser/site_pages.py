"""Every page a person can open, made from records seeded through the real forms.

The accessibility and HTML-validity tests walk this list. It is checked against the app's
route inventory (tests/factories/routes.py): a new GET route fails both tests until it is
listed here as a page or, with a reason, as something that is not a page.

Seeding goes through HTTP with any httpx client (the in-process TestClient or one pointed at
the live server), so the records are made exactly as a clinician makes them. Made-up
patients only.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories.routes import iter_routes
from tests.factories.sessions import csrf_token_of
from tests.factories.users import PASSWORD

# GET routes that answer with something other than an HTML page for people.
NOT_PAGES: dict[str, str] = {
    "/": "redirects to the worklist",
    "/healthz": "JSON health probe",
    "/openapi.json": "the API's OpenAPI document",
    "/docs": "FastAPI's generated Swagger UI for integrators, not a Titrate page",
    "/docs/oauth2-redirect": "part of FastAPI's Swagger UI",
    "/audit/report.csv": "CSV download",
    "/plans/{plan_id}/print.pdf": "PDF (same content as the print page)",
    "/plans/{plan_id}/summary.pdf": "PDF (same content as the summary page)",
    "/plans/{plan_id}/fhir.json": "FHIR JSON download",
    "/plans/{plan_id}/calendar.ics": "iCalendar download",
    "/cds-services": "CDS Hooks discovery (JSON for the EHR)",
    "/smart/launch": "redirects to the EHR's authorisation server",
    "/smart/callback": "completes a SMART launch and redirects to the planner",
}

PRESCRIBER, PHARMACIST, VIEWER, ADMIN = (
    "paula.prescriber",
    "phil.pharmacist",
    "vera.viewer",
    "ada.admin",
)
_HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True, slots=True)
class SitePage:
    name: str  # file-name safe, unique
    route: str  # the route's path template, as the inventory names it
    user: str | None  # who is logged in (None: nobody)
    url: str  # path and query to open
    status: int = 200


@dataclass(frozen=True, slots=True)
class SeededRecords:
    patient_id: int  # takes oxycodone: the planner shows a major finding to acknowledge
    oral_plan_id: int  # revised once: versions 1 and 2
    taper_plan_id: int
    screening_plan_id: int
    itb_plan_id: int
    family_name: str
    user_id: int = 0  # a user whose password page an admin can open


def html_get_routes(app: FastAPI) -> set[str]:
    """Every GET route outside the JSON API that the pages must account for."""
    return {path for method, path, _ in iter_routes(app) if method == "GET" and not _is_api(path)}


def _is_api(path: str) -> bool:
    return path.startswith("/api/")


def log_in(client: httpx.Client, username: str) -> str:
    """Logs in through the form and returns the session's CSRF token."""
    form = client.get("/login")
    token = _HIDDEN_CSRF.search(form.text)
    assert token, "the login form has no CSRF field"
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token[1]}
    )
    assert response.status_code == 303, response.text
    landing = client.get(response.headers["location"])
    return csrf_token_of(landing.text)


def seed_records(prescriber: httpx.Client) -> SeededRecords:
    """A patient with four plans (one revised), made through the forms as a prescriber."""
    csrf = csrf_token_of(prescriber.get("/patients").text)
    family_name = f"Pagewalk{uuid.uuid4().hex[:8]}"
    patient_id = _created_id(
        prescriber.post("/patients", data={**_patient_form(family_name), "csrf_token": csrf})
    )
    oral = _save_plan(prescriber, csrf, patient_id, _ORAL)
    revision = {**_ORAL, "target_daily_dose": "45", "version": "1", "reason": "Still stiff."}
    response = prescriber.post(f"/plans/{oral}/revise", data={**revision, "csrf_token": csrf})
    assert response.status_code == 303, response.text
    observation = {
        "observed_on": date.today().isoformat(),
        "mas_score": "1+",
        "spasm_frequency": "2",
        "adverse_effects": "drowsiness",
        "note": "Sleepy.",
    }
    response = prescriber.post(
        f"/plans/{oral}/observations", data={**observation, "csrf_token": csrf}
    )
    assert response.status_code == 303, response.text
    # One open plan per route: the taper is another patient's; the ITB titration follows the
    # screening (which it completes).
    tapered = _created_id(
        prescriber.post("/patients", data={**_patient_form(f"{family_name}t"), "csrf_token": csrf})
    )
    screening = _save_plan(prescriber, csrf, patient_id, _SCREENING)
    itb = _save_plan(prescriber, csrf, patient_id, {**_ITB, "supersedes_plan_id": str(screening)})
    refill = {"filled_on": date.today().isoformat(), "reservoir_ml": "20", "alarm_volume_ml": "2",
              "concentration_mcg_per_ml": "500", "max_refill_interval_days": "180"}  # fmt: skip
    response = prescriber.post(f"/plans/{itb}/refills", data={**refill, "csrf_token": csrf})
    assert response.status_code == 303, response.text
    return SeededRecords(
        patient_id=patient_id,
        oral_plan_id=oral,
        taper_plan_id=_save_plan(prescriber, csrf, tapered, _TAPER),
        screening_plan_id=screening,
        itb_plan_id=itb,
        family_name=family_name,
    )


def some_user_id(admin: httpx.Client) -> int:
    """A user whose password page the logged-in admin can open."""
    user_id = re.search(r"/admin/users/(\d+)/password", admin.get("/admin/users").text)
    assert user_id, "the user list links no password page"
    return int(user_id[1])


def site_pages(ids: SeededRecords) -> list[SitePage]:
    """The pages, each as the user who would look at it (clinical pages: the prescriber)."""
    patient, oral = f"/patients/{ids.patient_id}", f"/plans/{ids.oral_plan_id}"
    planner = f"{patient}/plans/new"
    pages = [
        SitePage("login", "/login", None, "/login"),
        SitePage("patients", "/patients", PRESCRIBER, "/patients"),
        SitePage("patients-search", "/patients", PRESCRIBER, f"/patients?q={ids.family_name}"),
        SitePage("patients-none", "/patients", PRESCRIBER, "/patients?q=zz-no-such-patient"),
        SitePage("patient-new", "/patients/new", PRESCRIBER, "/patients/new"),
        SitePage("patient", "/patients/{patient_id}", PRESCRIBER, patient),
        SitePage("patient-edit", "/patients/{patient_id}/edit", PRESCRIBER, f"{patient}/edit"),
        SitePage("plans", "/patients/{patient_id}/plans", PRESCRIBER, f"{patient}/plans"),
        SitePage("planner", "/patients/{patient_id}/plans/new", PRESCRIBER, planner),
        *(
            SitePage(f"planner-{kind}", "/patients/{patient_id}/plans/new", PRESCRIBER, url)
            for kind, url in _planner_previews(planner)
        ),
        SitePage("plan-oral", "/plans/{plan_id}", PRESCRIBER, oral),
        SitePage("plan-oral-pharmacist", "/plans/{plan_id}", PHARMACIST, oral),
        SitePage("plan-oral-viewer", "/plans/{plan_id}", VIEWER, oral),
        SitePage("plan-taper", "/plans/{plan_id}", PRESCRIBER, f"/plans/{ids.taper_plan_id}"),
        SitePage(
            "plan-screening", "/plans/{plan_id}", PRESCRIBER, f"/plans/{ids.screening_plan_id}"
        ),
        SitePage("plan-intrathecal", "/plans/{plan_id}", PRESCRIBER, f"/plans/{ids.itb_plan_id}"),
        SitePage("revise", "/plans/{plan_id}/revise", PRESCRIBER, f"{oral}/revise"),
        SitePage("worklist", "/worklist", PRESCRIBER, "/worklist?within_days=366"),
        SitePage("worklist-filtered", "/worklist", PRESCRIBER, "/worklist?kind=refill_due"),
        SitePage("review-queue", "/worklist", PHARMACIST, "/worklist"),
        SitePage(
            "plan-intrathecal-pharmacist",
            "/plans/{plan_id}",
            PHARMACIST,
            f"/plans/{ids.itb_plan_id}",
        ),
        SitePage("history", "/plans/{plan_id}/history", PRESCRIBER, f"{oral}/history"),
        SitePage("diff", "/plans/{plan_id}/diff", PRESCRIBER, f"{oral}/diff?a=1&b=2"),
        *_print_pages(ids),
        SitePage("admin-users", "/admin/users", ADMIN, "/admin/users"),
        SitePage("admin-user-new", "/admin/users/new", ADMIN, "/admin/users/new"),
        SitePage(
            "admin-password",
            "/admin/users/{user_id}/password",
            ADMIN,
            f"/admin/users/{ids.user_id}/password",
        ),
        SitePage("admin-tokens", "/admin/tokens", ADMIN, "/admin/tokens"),
        SitePage("admin-token-new", "/admin/tokens/new", ADMIN, "/admin/tokens/new"),
        SitePage("admin-clinics", "/admin/clinics", ADMIN, "/admin/clinics"),
        *_protocol_pages(),
        SitePage("account-password", "/account/password", VIEWER, "/account/password"),
        # A link that does not (or no longer) work; a working one resets someone's password.
        SitePage("reset-link-spent", "/account/reset/{secret}", None, "/account/reset/x", 404),
        SitePage("audit", "/audit", ADMIN, "/audit"),
        SitePage("audit-patient", "/audit", ADMIN, f"/audit?patient={ids.patient_id}"),
        SitePage("audit-bad-filter", "/audit", ADMIN, "/audit?date_from=yesterday", 422),
        SitePage("error-404", "/plans/{plan_id}", PRESCRIBER, "/plans/987654321", 404),
        SitePage("error-403", "/patients/new", VIEWER, "/patients/new", 403),
        SitePage("error-400", "/plans/{plan_id}/print", PRESCRIBER, f"{oral}/print?lang=xx", 400),
    ]
    names = [page.name for page in pages]
    assert len(names) == len(set(names)), "page names must be unique"
    return pages


def uncovered_routes(app: FastAPI, pages: list[SitePage]) -> set[str]:
    covered = {page.route for page in pages} | set(NOT_PAGES)
    return html_get_routes(app) - covered


def _planner_previews(planner: str) -> list[tuple[str, str]]:
    """Each plan type's tab with its preview shown (the planner renders it from the query)."""
    return [
        (
            "oral-titration",
            f"{planner}?plan_type=oral_titration&indication=multiple_sclerosis"
            "&setting=outpatient&start_date=2031-03-03&target_daily_dose=30",
        ),
        (
            "oral-taper",
            f"{planner}?plan_type=oral_taper&indication=multiple_sclerosis"
            "&setting=outpatient&start_date=2031-03-03&current_daily_dose=30&taper_reason=general",
        ),
        (
            "itb-screening",
            f"{planner}?plan_type=itb_screening&indication=multiple_sclerosis"
            "&setting=inpatient&start_date=2031-03-03&screening_1=negative&screening_2=positive",
        ),
        (
            "itb-titration",
            f"{planner}?plan_type=itb_titration&indication=multiple_sclerosis"
            "&setting=inpatient&start_date=2031-03-03&itb_effective_bolus=75"
            "&itb_effect_duration_hours=8",
        ),
        (
            "blocked",
            f"{planner}?plan_type=oral_titration&indication=multiple_sclerosis"
            "&setting=outpatient&start_date=2031-03-03&target_daily_dose=200",
        ),
    ]


def _protocol_pages() -> list[SitePage]:
    """The pharmacist's protocol pages (protocols belong to no clinic: the seeded ones)."""
    detail, draft = "/protocols/{protocol_id}", "/protocols/{protocol_id}/draft"
    return [
        SitePage("protocols", "/protocols", PHARMACIST, "/protocols"),
        SitePage("protocol", detail, PHARMACIST, "/protocols/oral-adult"),
        SitePage("protocol-itb-prescriber", detail, PRESCRIBER, "/protocols/itb"),
        SitePage("protocol-draft", draft, PHARMACIST, "/protocols/oral-adult/draft"),
        SitePage("protocol-draft-itb", draft, PHARMACIST, "/protocols/itb/draft"),
        # The impact of a version on the seeded clinic's open plans (version 1: in force).
        SitePage(
            "protocol-impact",
            "/protocols/{protocol_id}/versions/{version}/impact",
            PHARMACIST,
            "/protocols/oral-adult/versions/1/impact",
        ),
    ]


def _print_pages(ids: SeededRecords) -> list[SitePage]:
    oral, itb = f"/plans/{ids.oral_plan_id}", f"/plans/{ids.itb_plan_id}"
    schedule, summary = "/plans/{plan_id}/print", "/plans/{plan_id}/summary"
    return [
        SitePage("print-oral", schedule, PRESCRIBER, f"{oral}/print"),
        SitePage("print-superseded-de", schedule, PRESCRIBER, f"{oral}/print?version=1&lang=de"),
        SitePage("print-oral-vi", schedule, PRESCRIBER, f"{oral}/print?lang=vi"),
        SitePage("print-taper", schedule, PRESCRIBER, f"/plans/{ids.taper_plan_id}/print"),
        SitePage("print-screening", schedule, PRESCRIBER, f"/plans/{ids.screening_plan_id}/print"),
        SitePage(
            "print-intrathecal",
            schedule,
            PRESCRIBER,
            f"{itb}/print?reservoir_ml=20&alarm_volume_ml=2&concentration_mcg_per_ml=500"
            "&daily_dose=300&fill_date=2031-03-03",
        ),
        SitePage("summary-oral", summary, PRESCRIBER, f"{oral}/summary"),
        SitePage("summary-intrathecal", summary, PRESCRIBER, f"{itb}/summary"),
    ]


_COMMON = {"indication": "multiple_sclerosis", "start_date": "2031-03-03"}
_ORAL = {
    **_COMMON,
    "plan_type": "oral_titration",
    "setting": "outpatient",
    "target_daily_dose": "30",
    "acknowledged": "opioid",
}
_TAPER = {
    **_COMMON,
    "plan_type": "oral_taper",
    "setting": "outpatient",
    "current_daily_dose": "30",
    "taper_reason": "general",
    "acknowledged": "opioid",
}
_SCREENING = {
    **_COMMON,
    "plan_type": "itb_screening",
    "setting": "inpatient",
    "screening_1": "negative",
    "screening_2": "positive",
    "acknowledged": "opioid",
}
_ITB = {
    **_COMMON,
    "plan_type": "itb_titration",
    "setting": "inpatient",
    "itb_effective_bolus": "75",
    "itb_effect_duration_hours": "8",
    "acknowledged": "opioid",
}


def _patient_form(family_name: str) -> dict[str, str]:
    return {
        "given_name": "Wanda",
        "family_name": family_name,
        "mrn": f"PAGE-{uuid.uuid4().hex[:10]}",
        "birth_date": "1976-09-14",
        "sex": "female",
        "preferred_language": "en",
        "weight_kg": "64",
        "height_cm": "166",
        "serum_creatinine_value": "",
        "serum_creatinine_unit": "mg/dL",
        "serum_creatinine_on": "",
        "creatinine_clearance_ml_min": "92",
        "spinal_injury_level": "",
        "brain_injury_date": "",
        "medications": "oxycodone",
    }


def _save_plan(client: httpx.Client, csrf: str, patient_id: int, form: dict[str, Any]) -> int:
    response = client.post(f"/patients/{patient_id}/plans", data={**form, "csrf_token": csrf})
    return _created_id(response)


def _created_id(response: httpx.Response) -> int:
    problems = re.findall(r'class="(?:error|field-error)"[^>]*>([^<]*)', response.text)
    assert response.status_code == 303, (response.status_code, problems or response.text[:800])
    return int(response.headers["location"].rstrip("/").rsplit("/", 1)[1])
