"""Pages of the titration loop: the worklist (the clinician's home; the pharmacist's is the
review queue), follow-up observations on the plan page, acting on a suggestion, and the
pump's recorded refills."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from app.domain.titration import ProtocolSet, TitrationError
from app.printing.i18n import N_
from app.services import observations as observation_service
from app.services import refills as refill_service
from app.services import worklist as worklist_service
from app.services.errors import InvalidInput
from app.services.observations import ObservationInput
from app.services.plans import MAX_NOTE_LENGTH
from app.services.refills import RefillInput
from app.web.deps import CurrentClinician, SessionDep
from app.web.forms import parse_version
from app.web.htmx import redirect
from app.web.routes.plans import plan_page
from app.web.templating import render

router = APIRouter()
Short = Annotated[str, Form(max_length=20)]
KIND_LABELS = {
    "review_due": N_("Review due"),
    "refill_due": N_("Refill due"),
    "awaiting_review": N_("Awaiting review"),
    "on_hold": N_("On hold"),
    "stop_due": N_("Taper stops"),
    "protocol_updated": N_("Protocol updated — review"),
}


@router.get("/worklist", name="loop:worklist")
def worklist(
    request: Request, session: SessionDep, clinician: CurrentClinician,
    within_days: Annotated[int, Query(ge=0, le=worklist_service.MAX_WITHIN_DAYS)] = (
        worklist_service.DEFAULT_WITHIN_DAYS
    ),
    kind: Annotated[str, Query(max_length=20)] = "",
) -> Response:  # fmt: skip
    queue = clinician.role == "pharmacist" and not kind
    kinds = ("awaiting_review",) if queue else (
        (kind,) if kind in worklist_service.KINDS else worklist_service.KINDS
    )  # fmt: skip
    items = worklist_service.worklist(
        session, actor=clinician, today=date.today(),
        within_days=worklist_service.MAX_WITHIN_DAYS if queue else within_days, kinds=kinds,
    )  # fmt: skip
    context = {
        "clinician": clinician, "items": items, "queue": queue, "within_days": within_days,
        "kind": kind if kind in worklist_service.KINDS else "", "labels": KIND_LABELS,
    }  # fmt: skip
    return render(request, "worklist/index.html", context)


@router.post("/plans/{plan_id}/observations", name="loop:observe")
def record_observation(
    request: Request, plan_id: int, session: SessionDep, clinician: CurrentClinician,
    observed_on: Short = "", mas_score: Short = "", spasm_frequency: Short = "",
    adverse_effects: Annotated[list[str], Form(max_length=9)] = [],  # noqa: B006
    benefit: Short = "", note: Annotated[str, Form(max_length=MAX_NOTE_LENGTH)] = "",
) -> Response:  # fmt: skip
    values = {"observed_on": _date_value(observed_on), "mas_score": mas_score, "benefit": benefit,
              "spasm_frequency": spasm_frequency, "note": note,
              "adverse_effects": adverse_effects}  # fmt: skip
    try:
        data = ObservationInput(
            observed_on=_date(observed_on), mas_score=mas_score or None,
            spasm_frequency=int(spasm_frequency) if spasm_frequency else None,
            adverse_effects=tuple(adverse_effects), benefit=benefit or None, note=note,
        )  # fmt: skip
        observation_service.record_observation(
            session, actor=clinician, plan_id=plan_id, data=data, today=date.today()
        )
    except (InvalidInput, ValueError) as exc:
        message = (
            " ".join(p.message for p in exc.problems)
            if isinstance(exc, InvalidInput) else "Give the date as YYYY-MM-DD and Penn 0 to 4."
        )  # fmt: skip
        extra = {"observation_error": message, "observation_values": values}
        return plan_page(request, session, clinician, plan_id, extra=extra, status=422)
    url = str(request.url_for("plans:detail", plan_id=plan_id))
    return redirect(request, f"{url}#observations")


@router.post("/plans/{plan_id}/observations/{observation_id}/act", name="loop:act")
def act_on_observation(
    request: Request, plan_id: int, observation_id: int, session: SessionDep,
    clinician: CurrentClinician, version: Annotated[str, Form(max_length=12)] = "",
) -> Response:  # fmt: skip
    try:
        record, _ = observation_service.act_on_observation(
            session, actor=clinician, protocols=_protocols(request), plan_id=plan_id,
            observation_id=observation_id, expected_version=parse_version(version),
            today=date.today(),
        )  # fmt: skip
    except (InvalidInput, TitrationError) as exc:
        message = (
            " ".join(p.message for p in exc.problems)
            if isinstance(exc, InvalidInput) else getattr(exc, "message", str(exc))
        )  # fmt: skip
        extra = {"observation_error": f"The step was not taken: {message}"}
        return plan_page(request, session, clinician, plan_id, extra=extra, status=422)
    return redirect(request, str(request.url_for("plans:detail", plan_id=record.id)))


@router.post("/plans/{plan_id}/refills", name="loop:record_refill")
def record_refill(
    request: Request, plan_id: int, session: SessionDep, clinician: CurrentClinician,
    filled_on: Short = "", reservoir_ml: Short = "", alarm_volume_ml: Short = "",
    concentration_mcg_per_ml: Short = "", max_refill_interval_days: Short = "",
) -> Response:  # fmt: skip
    values = {"filled_on": _date_value(filled_on), "reservoir_ml": reservoir_ml,
              "alarm_volume_ml": alarm_volume_ml,
              "concentration_mcg_per_ml": concentration_mcg_per_ml,
              "max_refill_interval_days": max_refill_interval_days}  # fmt: skip
    try:
        data = RefillInput(
            filled_on=_date(filled_on), reservoir_ml=_number(reservoir_ml),
            alarm_volume_ml=_number(alarm_volume_ml) if alarm_volume_ml else None,
            concentration_mcg_per_ml=_number(concentration_mcg_per_ml),
            max_refill_interval_days=(
                int(max_refill_interval_days) if max_refill_interval_days else None
            ),
        )  # fmt: skip
        refill_service.record_refill(
            session, actor=clinician, protocols=_protocols(request), plan_id=plan_id, data=data
        )
    except (InvalidInput, TitrationError, ValueError, InvalidOperation) as exc:
        if isinstance(exc, InvalidInput):
            message = " ".join(p.message for p in exc.problems)
        elif isinstance(exc, TitrationError):
            message = getattr(exc, "message", str(exc))
        else:
            message = "Give every figure as a number and the fill date as YYYY-MM-DD."
        extra = {"pump_error": message, "pump_values": values}
        return plan_page(request, session, clinician, plan_id, extra=extra, status=422)
    url = str(request.url_for("plans:detail", plan_id=plan_id))
    return redirect(request, f"{url}#pump")


def _protocols(request: Request) -> ProtocolSet:
    protocols: ProtocolSet = request.app.state.protocols
    return protocols


def _date(text: str) -> date:
    return date.fromisoformat(text.strip())


def _date_value(text: str) -> str:
    """The date as a refused form shows it again: a date input's value is YYYY-MM-DD or empty
    (anything else is invalid HTML), so a date that is not one is not echoed."""
    try:
        date.fromisoformat(text)
    except ValueError:
        return ""
    return text if len(text) == 10 else ""


def _number(text: str) -> Decimal:
    value = Decimal(text.strip())
    if not value.is_finite():
        raise ValueError("not a number")
    return value
