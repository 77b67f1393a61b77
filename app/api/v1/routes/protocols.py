"""Protocols a pharmacist can change safely (API.md §5.6): list, versions, drafts, approval,
and the impact of a version on the clinic's open plans.

An approval is used by this process from its next request (its protocol feed looks at once);
other workers and instances pick it up within their check interval
(services/protocol_feed.py, ARCHITECTURE.md "Protocols").
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from app.api.v1.deps import SessionDep, require_scope
from app.api.v1.problems import problem_responses
from app.api.v1.protocol_schemas import (
    ApprovalIn,
    ChangedPlanOut,
    DoseOut,
    FailedPlanOut,
    FirstDifferenceOut,
    ImpactCountsOut,
    ImpactOut,
    ProtocolDraftIn,
    ProtocolOut,
    ProtocolVersionOut,
    PumpModelIn,
)
from app.api.v1.schemas import IsoDate
from app.db.models import ProtocolVersionRecord
from app.domain.titration import Dose
from app.services import protocol_impact
from app.services import protocols as protocol_service
from app.services.context import Actor
from app.services.protocols import ParameterChange, ParameterValue

router = APIRouter(tags=["protocols"])

ProtocolsWriter = Annotated[Actor, Depends(require_scope("protocols:write"))]
# API.md §5.6: the reads also serve clients that preview plans (which versions will be used).
ProtocolsReader = Annotated[Actor, Depends(require_scope("protocols:write", "plans:preview"))]
ProtocolsApprover = Annotated[Actor, Depends(require_scope("protocols:approve"))]


def version_out(record: ProtocolVersionRecord) -> ProtocolVersionOut:
    return ProtocolVersionOut(
        protocol_id=record.protocol_id, version=record.version,
        status=record.status,
        sha256=record.sha256, parameters=json.loads(record.content).get("parameters", {}),
        drafted_by=record.drafted_by, drafted_at=record.drafted_at, reason=record.reason,
        approved_by=record.approved_by, approved_at=record.approved_at,
        effective_from=record.effective_from,
    )  # fmt: skip


@router.get("/protocols", name="api:list_protocols", responses=problem_responses(401, 403))
def list_protocols(session: SessionDep, client: ProtocolsReader) -> list[ProtocolOut]:
    """Every protocol with its version in force today."""
    views = protocol_service.list_protocols(session, actor=client)
    return [
        ProtocolOut(
            id=view.protocol.id,
            title=view.protocol.title,
            version=view.effective.version if view.effective else None,
            sha256=view.effective.sha256 if view.effective else None,
            effective_from=view.effective.effective_from if view.effective else None,
        )
        for view in views
    ]


@router.get(
    "/protocols/{protocol_id}/versions",
    name="api:list_protocol_versions",
    responses=problem_responses(401, 403, 404),
)
def list_versions(
    protocol_id: str, session: SessionDep, client: ProtocolsReader
) -> list[ProtocolVersionOut]:
    """Every version, oldest first: drafts, approved and superseded ones."""
    records = protocol_service.list_versions(session, actor=client, protocol_id=protocol_id)
    return [version_out(record) for record in records]


@router.post(
    "/protocols/{protocol_id}/versions",
    status_code=status.HTTP_201_CREATED,
    name="api:draft_protocol_version",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def draft_version(
    protocol_id: str, body: ProtocolDraftIn, session: SessionDep, client: ProtocolsWriter
) -> ProtocolVersionOut:
    """A draft: the newest approved version with these parameters changed. 422 names every
    value that does not parse, lies outside its allowed range or passes a hard limit."""
    changes = {
        name: ParameterChange(value=_plain(item.value), source=item.source)
        for name, item in body.parameters.items()
    }
    record = protocol_service.draft_version(
        session, actor=client, protocol_id=protocol_id, changes=changes, reason=body.reason
    )
    return version_out(record)


@router.post(
    "/protocols/{protocol_id}/versions/{version}/approve",
    name="api:approve_protocol_version",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def approve_version(
    protocol_id: str,
    version: int,
    body: ApprovalIn,
    request: Request,
    session: SessionDep,
    client: ProtocolsApprover,
) -> ProtocolVersionOut:
    """Approve a draft from `effective_from`. 409 `self_approval` when its author approves
    it; 409 when it is no longer a draft (of two approvers racing, one wins)."""
    record = protocol_service.approve_version(
        session, actor=client, protocol_id=protocol_id, version=version,
        effective_from=body.effective_from,
        scan_workers=request.app.state.settings.scan_workers,
    )  # fmt: skip
    # This process uses it from its next request; others within the feed's check interval.
    request.app.state.protocols = request.app.state.protocol_feed.refresh(session, now=True)
    return version_out(record)


@router.get(
    "/protocols/{protocol_id}/versions/{version}/impact",
    name="api:protocol_version_impact",
    responses=problem_responses(401, 403, 404, 422),
)
def version_impact(
    protocol_id: str,
    version: int,
    request: Request,
    session: SessionDep,
    client: ProtocolsWriter,
    since: Annotated[
        IsoDate | None,
        Query(
            alias="from",
            description="Compare from this day (default: today, or the "
            "version's effective date when that is later).",
        ),
    ] = None,
) -> ImpactOut:
    """The open plans of the token's clinic whose schedule this version (a draft too) would
    change, each with its first differing day, step and daily doses; plans the engine could
    not recompute under it, with the reason; and counts."""
    report = protocol_impact.impact_of_version(
        session, actor=client, protocol_id=protocol_id, version=version, since=since,
        workers=request.app.state.settings.scan_workers,
    )  # fmt: skip
    return ImpactOut(
        protocol_id=report.protocol_id, version=report.version,
        status=report.status,
        since=report.since,
        counts=ImpactCountsOut(
            checked=report.checked, changed=len(report.changed),
            unchanged=report.unchanged, failed=len(report.failed),
        ),
        changed=[
            ChangedPlanOut(
                plan_id=c.plan_id, patient_id=c.patient_id, version=c.version,
                status=c.status.value,
                first_difference=FirstDifferenceOut(
                    differs_on=c.difference.on, change=c.difference.change.value,
                    step=c.difference.step, step_start_date=c.difference.step_start,
                    old_dose=_dose(c.difference.old_dose),
                    new_dose=_dose(c.difference.new_dose),
                ),
            )
            for c in report.changed
        ],
        failed=[
            FailedPlanOut(plan_id=f.plan_id, patient_id=f.patient_id, version=f.version,
                          reason=f.reason)
            for f in report.failed
        ],
    )  # fmt: skip


def _dose(dose: Dose | None) -> DoseOut | None:
    if dose is None:
        return None
    return DoseOut(value=format(dose.value, "f"), unit=dose.unit.value)


def _plain(value: str | list[str | PumpModelIn]) -> ParameterValue:
    """The value as the protocol document writes it (pump models as plain objects)."""
    if isinstance(value, str):
        return value
    return [item.model_dump() if isinstance(item, PumpModelIn) else item for item in value]
