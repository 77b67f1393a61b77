"""The HTML surface. The CSRF check sits on the router, so no page route can miss it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from app.web.deps import refuse_unsafe_characters, verify_csrf
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

router = APIRouter(
    dependencies=[Depends(verify_csrf), Depends(refuse_unsafe_characters)], include_in_schema=False
)
router.include_router(auth.router)
router.include_router(account.router)
router.include_router(admin.router)
router.include_router(audit_pages.router)
# Before patients: its POST /patients/{patient_id} would otherwise take /patients/ehr-import.
router.include_router(ehr.router)
router.include_router(patients.router)
router.include_router(plans.router)
router.include_router(loop.router)
router.include_router(print_schedule.router)
router.include_router(plan_exports.router)
router.include_router(print_summary.router)
router.include_router(protocols.router)
router.include_router(smart.router)


@router.get("/", name="home")
def home(request: Request) -> RedirectResponse:
    # The clinician's home is the worklist (the pharmacist's shows the review queue).
    return RedirectResponse(str(request.url_for("loop:worklist")), status_code=303)
