"""The /api/v1 router: every JSON route of version 1."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.v1.routes import exports, patients, plans, schedule_documents, summary_documents

router = APIRouter(prefix="/api/v1")
router.include_router(patients.router)
router.include_router(plans.router)
router.include_router(exports.router)
router.include_router(schedule_documents.router)
router.include_router(summary_documents.router)
