"""The pharmacist's protocol pages (issue 17): the protocols in force, each one's versions with
what every version changed, the draft form built from the protocol's own schema, and the
second pharmacist's approval. The services check who may do what, store and audit; these
handlers parse, call one service and render (the same services as API.md §5.6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.db.models import ProtocolVersionRecord
from app.domain.titration.protocol_editing import editable_parameters
from app.services import people, protocol_impact
from app.services import protocols as protocol_service
from app.services.context import Actor, utc_now
from app.services.errors import Conflict, InvalidInput
from app.services.permissions import require
from app.web.deps import CurrentClinician, PostedForm, SessionDep
from app.web.htmx import redirect
from app.web.protocol_forms import ApprovalForm, DraftForm
from app.web.templating import render

router = APIRouter(prefix="/protocols")


@router.get("", name="protocols:index")
def list_protocols(request: Request, session: SessionDep, clinician: CurrentClinician) -> Response:
    views = protocol_service.list_protocols(session, actor=clinician)
    return render(request, "protocols/index.html", {"views": views, "clinician": clinician})


@router.get("/{protocol_id}", name="protocols:detail")
def show_protocol(
    request: Request, protocol_id: str, session: SessionDep, clinician: CurrentClinician
) -> Response:
    return _detail_page(request, session, clinician, protocol_id)


@router.get("/{protocol_id}/draft", name="protocols:draft_form")
def draft_form(
    request: Request, protocol_id: str, session: SessionDep, clinician: CurrentClinician
) -> Response:
    base = protocol_service.draft_basis(session, actor=clinician, protocol_id=protocol_id)
    form = DraftForm.start(editable_parameters(protocol_id, base.content))
    return _draft_page(request, clinician, base, form)


@router.post("/{protocol_id}/draft", name="protocols:draft")
def create_draft(
    request: Request,
    protocol_id: str,
    session: SessionDep,
    clinician: CurrentClinician,
    posted: PostedForm,
) -> Response:
    base = protocol_service.draft_basis(session, actor=clinician, protocol_id=protocol_id)
    form = DraftForm.from_form(editable_parameters(protocol_id, base.content), posted)
    changes = form.changes()
    if not form.errors:
        try:
            record = protocol_service.draft_version(
                session, actor=clinician, protocol_id=protocol_id, changes=changes,
                reason=form.reason or None,
            )  # fmt: skip
        except InvalidInput as exc:
            form.add_problems(exc.problems)
        else:
            url = request.url_for("protocols:detail", protocol_id=protocol_id)
            return redirect(request, f"{url}#version-{record.version}")
    return _draft_page(request, clinician, base, form, status=422)


@router.get("/{protocol_id}/versions/{version}/impact", name="protocols:impact")
def version_impact(
    request: Request,
    protocol_id: str,
    version: int,
    session: SessionDep,
    clinician: CurrentClinician,
) -> Response:
    """Which open plans of the clinic this version would change, before a second pharmacist
    approves it (the same report as the API's, issue 17 item 4)."""
    report = protocol_impact.impact_of_version(
        session, actor=clinician, protocol_id=protocol_id, version=version,
        workers=request.app.state.settings.scan_workers,
    )  # fmt: skip
    context = {"report": report, "clinician": clinician}
    return render(request, "protocols/impact.html", context)


@router.post("/{protocol_id}/versions/{version}/approve", name="protocols:approve")
def approve_version(
    request: Request,
    protocol_id: str,
    version: int,
    session: SessionDep,
    clinician: CurrentClinician,
    posted: PostedForm,
) -> Response:
    # Refused before the typed date is read: a role that may not approve gets 403 whatever it
    # sent (ACCESS.md); the service checks again.
    require(clinician, "protocol.approve")
    form = ApprovalForm(version, str(posted.get("effective_from", "")).strip())
    effective_from = form.parsed()
    status = 422
    if effective_from is not None:
        try:
            record = protocol_service.approve_version(
                session, actor=clinician, protocol_id=protocol_id, version=version,
                effective_from=effective_from,
                scan_workers=request.app.state.settings.scan_workers,
            )  # fmt: skip
        except InvalidInput as exc:
            form.error = " ".join(problem.message for problem in exc.problems)
            form.date_refused = True
        except Conflict as exc:  # its author (self_approval), or approved by someone else
            form.error, status = _conflict_message(exc), 409
        else:
            # This process uses the approval from its next request; others within the feed's
            # check interval (ARCHITECTURE.md, "Pick-up").
            request.app.state.protocols = request.app.state.protocol_feed.refresh(session, now=True)
            url = request.url_for("protocols:detail", protocol_id=protocol_id)
            return redirect(request, f"{url}#version-{record.version}")
    return _detail_page(request, session, clinician, protocol_id, approval=form, status=status)


def _conflict_message(exc: Conflict) -> str:
    if exc.code == "self_approval":
        return (
            "You drafted this version, so you cannot approve it: "
            "a second pharmacist approves it (four eyes)."
        )
    return f"Not approved: {exc}. Reload the page to see its state."


def _detail_page(
    request: Request,
    session: SessionDep,
    clinician: Actor,
    protocol_id: str,
    *,
    approval: ApprovalForm | None = None,
    status: int = 200,
) -> Response:
    history = protocol_service.protocol_history(session, actor=clinician, protocol_id=protocol_id)
    names = [v.record.drafted_by for v in history.versions] + [
        v.record.approved_by for v in history.versions if v.record.approved_by
    ]
    context: dict[str, Any] = {
        "history": history, "clinician": clinician, "approval": approval,
        "people": people.display_names(session, names),
        "today": utc_now().date().isoformat(),
    }  # fmt: skip
    return render(request, "protocols/detail.html", context, status_code=status)


def _draft_page(
    request: Request,
    clinician: Actor,
    base: ProtocolVersionRecord,
    form: DraftForm,
    *,
    status: int = 200,
) -> Response:
    context = {"base": base, "form": form, "clinician": clinician}
    return render(request, "protocols/draft.html", context, status_code=status)
