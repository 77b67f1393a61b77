"""Every place a stored free text is shown, as pages to fetch for a hostile `Case`.

Each page names the route it exercises; `test_every_get_route_is_walked_or_shows_no_free_text`
checks the list against the app's route inventory, so a new page that shows a name or a
reason fails until it is walked here (or listed, with a reason, as showing none).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from tests.security.hostile_cases import Case

PRESCRIBER, ADMIN = "prescriber", "admin"
# How the planner asks for a preview; the override reason comes back in its textarea.
_PREVIEW_QUERY = (
    "plan_type=oral_titration&indication=multiple_sclerosis&setting=outpatient"
    "&start_date=2031-03-03&target_daily_dose=30&override__epilepsy="
)


@dataclass(frozen=True)
class Page:
    name: str
    route: str  # the route's path template, as the inventory names it
    url: str
    viewer: str  # PRESCRIBER or ADMIN
    shows: tuple[str, ...]  # slots of the case whose text the page must show
    htmx: bool = False  # fetched as htmx fetches it: the fragment, not the page


def clinical_pages(case: Case) -> list[Page]:
    a, b, plan, stopped = case.patient_a, case.patient_b, case.plan, case.stopped_plan
    names = ("given", "family")
    plan_texts = (*names, "revision", "hold", "token", "override", "note")
    return [
        Page("search", "/patients", f"/patients?q={case.mrn}", PRESCRIBER, (*names, "mrn")),
        Page(
            "search-fragment",
            "/patients",
            f"/patients?q={case.mrn}",
            PRESCRIBER,
            (*names, "mrn"),
            htmx=True,
        ),
        Page(
            "patient",
            "/patients/{patient_id}",
            f"/patients/{a}",
            PRESCRIBER,
            (*names, "mrn", "medications"),
        ),
        Page(
            "patient-edit",
            "/patients/{patient_id}/edit",
            f"/patients/{a}/edit",
            PRESCRIBER,
            (*names, "medications"),
        ),
        Page(
            "patient-archived",
            "/patients/{patient_id}",
            f"/patients/{b}",
            PRESCRIBER,
            ("given_b", "family_b", "archive"),
        ),
        Page("plans", "/patients/{patient_id}/plans", f"/patients/{a}/plans", PRESCRIBER, names),
        Page("worklist", "/worklist", "/worklist?within_days=366", PRESCRIBER, names),
        Page(
            "plans-fragment",
            "/patients/{patient_id}/plans",
            f"/patients/{a}/plans",
            PRESCRIBER,
            (),
            htmx=True,
        ),
        Page(
            "planner",
            "/patients/{patient_id}/plans/new",
            f"/patients/{a}/plans/new?{_PREVIEW_QUERY}{quote(case.texts['override'])}",
            PRESCRIBER,
            (*names, "override"),
        ),
        Page("plan", "/plans/{plan_id}", f"/plans/{plan}", PRESCRIBER, plan_texts),
        Page(
            "plan-stopped",
            "/plans/{plan_id}",
            f"/plans/{stopped}",
            PRESCRIBER,
            (*names, "discontinue", "token_b", "override"),
        ),
        Page(
            "revise",
            "/plans/{plan_id}/revise",
            f"/plans/{plan}/revise",
            PRESCRIBER,
            (*names, "override"),
        ),
        Page(
            "history",
            "/plans/{plan_id}/history",
            f"/plans/{plan}/history",
            PRESCRIBER,
            ("revision", "hold", "token"),
        ),
        Page(
            "diff",
            "/plans/{plan_id}/diff",
            f"/plans/{plan}/diff?a=1&b=2",
            PRESCRIBER,
            ("revision", "token"),
        ),
        Page(
            "print", "/plans/{plan_id}/print", f"/plans/{plan}/print", PRESCRIBER, (*names, "token")
        ),
        Page(
            "summary",
            "/plans/{plan_id}/summary",
            f"/plans/{plan}/summary",
            PRESCRIBER,
            (*names, "mrn", "medications", "revision", "hold", "token", "override"),
        ),
        Page(
            "summary-stopped",
            "/plans/{plan_id}/summary",
            f"/plans/{stopped}/summary",
            PRESCRIBER,
            ("discontinue",),
        ),
        Page(
            "audit-patient",
            "/audit",
            f"/audit?patient={a}",
            ADMIN,
            ("token", "token_b", "revision", "hold", "resume", "discontinue"),
        ),
        Page("audit-archived", "/audit", f"/audit?patient={b}", ADMIN, ("token", "archive")),
        Page(
            "audit-user",
            "/audit",
            f"/audit?user={quote(case.texts['token'])}",
            ADMIN,
            ("token", "revision", "hold", "resume", "archive"),
        ),
        Page(
            "audit-user-fragment",
            "/audit",
            f"/audit?user={quote(case.texts['token'])}",
            ADMIN,
            ("token", "revision", "archive"),
            htmx=True,
        ),
    ]


# Downloads of a case, checked in their own format (test_hostile_input.py).
DOCUMENT_ROUTES = frozenset(
    {
        "/plans/{plan_id}/print.pdf",
        "/plans/{plan_id}/summary.pdf",
        "/api/v1/plans/{plan_id}/schedule.pdf",
        "/api/v1/plans/{plan_id}/summary.pdf",
        "/plans/{plan_id}/fhir.json",
        "/api/v1/plans/{plan_id}/fhir",
        "/plans/{plan_id}/calendar.ics",
        "/api/v1/plans/{plan_id}/calendar.ics",
        "/audit/report.csv",
        "/api/v1/patients",
        "/api/v1/patients/{patient_id}",
        "/api/v1/patients/{patient_id}/plans",
        "/api/v1/plans/{plan_id}",
        "/api/v1/plans/{plan_id}/versions",
        "/api/v1/plans/{plan_id}/reviews",
        # Protocol drafts' sources and reasons: test_hostile_protocols.py.
        "/api/v1/protocols",
        "/api/v1/protocols/{protocol_id}/versions",
        "/protocols/{protocol_id}",
        "/protocols/{protocol_id}/draft",
    }
)
# Pages of test_hostile_admin.py: token and clinic names, usernames typed at login.
ADMIN_ROUTES = frozenset(
    {
        "/login",
        "/admin/users",
        "/admin/users/new",
        "/admin/users/{user_id}/password",
        "/admin/tokens",
        "/admin/tokens/new",
        "/admin/clinics",
    }
)
SHOWS_NO_FREE_TEXT = {
    "/": "redirects to the worklist",
    "/api/v1/worklist": "kinds, dates, ids and text made from plan types and dates only",
    # Gaps to close: the hostile case records no observation or refill yet; their typed
    # note and recorder name come back as stored (tests/api/v1/test_loop.py, plain text).
    "/api/v1/plans/{plan_id}/observations": "not walked yet: the case records no observation",
    "/api/v1/plans/{plan_id}/refills": "not walked yet: the case records no refill",
    "/healthz": "JSON health probe: status only",
    "/openapi.json": "the API description: no records",
    "/docs": "FastAPI's Swagger UI: no records",
    "/docs/oauth2-redirect": "part of FastAPI's Swagger UI",
    "/patients/new": "an empty form; what is typed comes back from POST /patients (forms test)",
    "/api/v1/calendar-feeds/{token}.ics": "the events of calendar.ics (walked), no typed text",
    "/cds-services": "CDS Hooks discovery: fixed service descriptions, no records",
    "/smart/launch": "redirects to the EHR; its error page shows fixed text only",
    "/smart/callback": "redirects to the planner; its error pages show fixed text and the EHR's "
    "answer status, never a query value",
    "/account/password": "a form of password fields, never filled in again",
    "/protocols": "protocol ids, their packaged titles, versions, hashes and dates: no typed text",
    "/api/v1/protocols/{protocol_id}/versions/{version}/impact": "ids, dates, doses with units "
    "and the engine's own refusal messages: no typed text of a patient or a draft",
    "/protocols/{protocol_id}/versions/{version}/impact": "the same report as a page: ids, "
    "dates, doses with units and the engine's own refusal messages (autoescaped)",
    "/account/reset/{secret}": "password fields and the username (ASCII letters, digits, '.' "
    "and '_' by rule), never a display name",
}
