"""The /api/v1 router: every JSON route of version 1."""

from __future__ import annotations

from app.api.v1.problems import problem_responses
from app.api.v1.routes import (
    calendar_feeds,
    ehr_import,
    exports,
    loop,
    patients,
    plans,
    protocols,
    schedule_documents,
    summary_documents,
)
from app.routing import PrefixedRouter

# Every route with a parameter or a body can answer 422 with a problem; saying so here
# replaces FastAPI's default 422 (plain JSON, another shape) on routes that did not list it.
router = PrefixedRouter(prefix="/api/v1", responses=problem_responses(422))
router.include_router(ehr_import.router)
router.include_router(patients.router)
router.include_router(plans.router)
router.include_router(exports.router)
router.include_router(loop.router)
router.include_router(calendar_feeds.router)
router.include_router(schedule_documents.router)
router.include_router(summary_documents.router)
router.include_router(protocols.router)
