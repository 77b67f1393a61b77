"""The HTML surface. The CSRF check sits on the router, so no page route can miss it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse

from app.web.deps import guard_page
from app.web.routes import (
    account,
    admin,
    auth,
    ehr,
    loop,
    patients,
    plan_exports,
    plans,
    print_schedule,
    print_summary,
    protocols,
    smart,
)
from app.web.routes import audit as audit_pages

# Every page route carries this: the CSRF check and the refusal of NUL and bidirectional
# controls. It is given to each module's router as it is included (`include_pages`), so no
# page route can miss it.
PAGE_GUARDS = [Depends(guard_page)]

# FastAPI (0.16x) walks the included routers in order on every request, all the way down,
# and walks them again at each level on the way to the handler (app/routing.py). The pages
# share no prefix it could skip them by, so they are included one level deep, straight into
# the app, and the planner's router, whose live preview answers every pause in typing, comes
# first. Order otherwise matters only where two paths overlap.
PAGE_ROUTERS: tuple[APIRouter, ...] = (
    plans.router,
    auth.router,
    account.router,
    admin.router,
    audit_pages.router,
    # Before patients: its POST /patients/{patient_id} would otherwise take /patients/ehr-import.
    ehr.router,
    patients.router,
    loop.router,
    print_schedule.router,
    plan_exports.router,
    print_summary.router,
    protocols.router,
    smart.router,
)

router = APIRouter()  # the pages that belong to no module


def include_pages(app: FastAPI) -> None:
    """Add every page route to `app`, each with the page guards, outside the API's schema."""
    for module_router in (*PAGE_ROUTERS, router):
        app.include_router(module_router, dependencies=PAGE_GUARDS, include_in_schema=False)


@router.get("/", name="home")
def home(request: Request) -> RedirectResponse:
    # The clinician's home is the worklist (the pharmacist's shows the review queue).
    return RedirectResponse(str(request.url_for("loop:worklist")), status_code=303)
