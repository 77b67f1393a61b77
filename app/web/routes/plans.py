"""Plan pages: the live planner, saved plans, revisions, hold/discontinue, history, diff, refill."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from app.db.models import PatientRecord, PlanRecord, PlanVersionRecord
from app.db.repositories.patients import to_engine_patient
from app.domain.titration import Patient, PlanRequest, ProtocolSet, TitrationError
from app.services import observations as observation_service
from app.services import patients as patient_service
from app.services import people
from app.services import plans as plan_service
from app.services import refills as refill_service
from app.services.context import Actor
from app.services.errors import Conflict, InvalidInput, NotFound
from app.web import preview_fragment
from app.web.deps import CurrentClinician, PostedForm, SessionDep
from app.web.forms import parse_version
from app.web.htmx import is_partial, redirect
from app.web.loop_views import (
    ADVERSE_EFFECTS,
    MAS_SCORES,
    from_change_date,
    pump_defaults,
    pump_stock,
    taper_link,
    view_is_itb,
    with_observation_markers,
)
from app.web.loop_views import supersedes as _supersedes
from app.web.plan_form import (
    PlanForm,
    Preview,
    RefillForm,
    compute_preview,
    plan_with_applicable_overrides,
)
from app.web.plan_views import (
    CHOICES,
    PLAN_TYPE_LABELS,
    SCREENING_BOLUSES,
    FindingView,
    PlanView,
    diff_sections,
    effective_screening_bolus,
    format_dose,
    refill_rows,
    version_rows,
    view_of_version,
)
from app.web.templating import format_decimal, render

router = APIRouter()
Reason = Annotated[str, Form(max_length=plan_service.MAX_REASON_LENGTH)]
Version = Annotated[str, Form(max_length=12)]


@router.get("/patients/{patient_id}/plans", name="plans:index")
def list_plans(
    request: Request, patient_id: int, session: SessionDep, clinician: CurrentClinician
) -> Response:
    patient = patient_service.read_patient(session, actor=clinician, patient_id=patient_id)
    plans = plan_service.list_patient_plans(session, actor=clinician, patient_id=patient_id)
    context = {
        "patient": patient, "plans": plans, "clinician": clinician,
        "type_labels": PLAN_TYPE_LABELS,
    }  # fmt: skip
    template = "plans/_list.html" if is_partial(request) else "plans/index.html"
    response = render(request, template, context)
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/patients/{patient_id}/plans/new", name="plans:new")
def new_plan(
    request: Request, patient_id: int, session: SessionDep, clinician: CurrentClinician
) -> Response:
    patient = patient_service.read_patient(
        session, actor=clinician, patient_id=patient_id, operation="plan.preview"
    )
    query = request.query_params
    form = PlanForm.from_form(query, query.getlist("acknowledged"))
    # The indication stored on the patient is the planner's first guess; the query wins.
    form.values["indication"] = form.values["indication"] or (patient.indication or "")
    preview = _preview(request, form, patient) if form.values["indication"] else Preview()
    form.errors.clear()  # a fresh page shows no field errors yet
    return _planner(request, clinician, patient, form, preview,
                    supersedes=_supersedes(query.get("supersedes_plan_id")))  # fmt: skip


@router.post("/patients/{patient_id}/plans/preview", name="plans:preview")
async def preview_plan(request: Request, patient_id: int, clinician: CurrentClinician) -> Response:
    # Async, with the database work in worker threads (each with its own Session): the
    # fragment's one read goes through preview_fragment.read_for_preview (ARCHITECTURE.md,
    # "Speed of the preview"); the whole page (no JavaScript) is an ordinary page. The form
    # was read already, by the page guard's CSRF check (Starlette keeps it on the request).
    posted = await request.form()
    if is_partial(request):
        # A fragment (htmx, on every pause in typing) records no read: the planner page it is
        # swapped into recorded one when it opened. The whole page records its own.
        patient = await preview_fragment.read_for_preview(
            request, _patient_for_preview, request, clinician, patient_id
        )
        return _fragment(request, clinician, patient, _form(posted))
    return await run_in_threadpool(_preview_page, request, clinician, patient_id, posted)


def _patient_for_preview(request: Request, clinician: Actor, patient_id: int) -> PatientRecord:
    with request.app.state.sessionmaker() as session:
        return patient_service.patient_for_preview(
            session, actor=clinician, patient_id=patient_id, operation="plan.preview"
        )


def _preview_page(
    request: Request, clinician: Actor, patient_id: int, posted: FormData
) -> Response:
    with request.app.state.sessionmaker() as session:
        patient = patient_service.read_patient(
            session, actor=clinician, patient_id=patient_id, operation="plan.preview"
        )
    form = _form(posted)
    preview = _preview(request, form, patient)
    status = 422 if preview.error else 200
    return _planner(request, clinician, patient, form, preview, status=status,
                    supersedes=_supersedes(posted.get("supersedes_plan_id")))  # fmt: skip


@router.post("/patients/{patient_id}/plans", name="plans:create")
def create_plan(
    request: Request,
    patient_id: int,
    session: SessionDep,
    clinician: CurrentClinician,
    posted: PostedForm,
) -> Response:
    patient = patient_service.read_patient(
        session, actor=clinician, patient_id=patient_id, operation="plan.create"
    )
    raw = posted
    form = _form(raw)
    supersedes = _supersedes(raw.get("supersedes_plan_id"))
    preview = _preview(request, form, patient)
    if preview.error:
        return _planner(request, clinician, patient, form, preview, status=422,
                        supersedes=supersedes)  # fmt: skip
    try:
        record, _, _ = plan_service.create_plan(
            session, actor=clinician, protocols=_protocols(request), patient_id=patient_id,
            request_for=_request_for(request, form),
            options=plan_service.SaveOptions(
                acknowledged=tuple(form.acknowledged), supersedes_plan_id=supersedes
            ),
        )  # fmt: skip
    except (InvalidInput, TitrationError, Conflict) as exc:
        return _refused(request, clinician, patient, form, preview, exc, supersedes=supersedes)
    return redirect(request, str(request.url_for("plans:detail", plan_id=record.id)))


@router.get("/plans/{plan_id}", name="plans:detail")
def show_plan(
    request: Request, plan_id: int, session: SessionDep, clinician: CurrentClinician
) -> Response:
    return _plan_page(request, session, clinician, plan_id)


@router.get("/plans/{plan_id}/revise", name="plans:revise_form")
def revise_form(
    request: Request, plan_id: int, session: SessionDep, clinician: CurrentClinician
) -> Response:
    record, current, patient = _load(session, clinician, plan_id, "plan.revise")
    form = PlanForm.from_stored(current.input_json, list(current.acknowledged))
    preview = _preview(request, form, patient)
    return _planner(request, clinician, patient, form, preview, plan=record)


@router.post("/plans/{plan_id}/revise/preview", name="plans:revise_preview")
async def preview_revision(request: Request, plan_id: int, clinician: CurrentClinician) -> Response:
    # As preview_plan: async, the database work in worker threads.
    posted = await request.form()
    if is_partial(request):  # unrecorded, as preview_plan's fragments
        patient = await preview_fragment.read_for_preview(
            request, _patient_for_revision_preview, request, clinician, plan_id
        )
        return _fragment(request, clinician, patient, _form(posted))
    return await run_in_threadpool(_revision_page, request, clinician, plan_id, posted)


def _patient_for_revision_preview(
    request: Request, clinician: Actor, plan_id: int
) -> PatientRecord:
    with request.app.state.sessionmaker() as session:
        _, patient = plan_service.plan_for_preview(session, actor=clinician, plan_id=plan_id)
    return patient


def _revision_page(request: Request, clinician: Actor, plan_id: int, posted: FormData) -> Response:
    with request.app.state.sessionmaker() as session:
        record, _, patient = _load(session, clinician, plan_id, "plan.revise")
    form = _form(posted)
    preview = _preview(request, form, patient)
    status = 422 if preview.error else 200
    return _planner(request, clinician, patient, form, preview, plan=record, status=status)


@router.post("/plans/{plan_id}/revise", name="plans:revise")
def revise_plan(
    request: Request,
    plan_id: int,
    session: SessionDep,
    clinician: CurrentClinician,
    raw: PostedForm,
) -> Response:
    record, _, patient = _load(session, clinician, plan_id, "plan.revise")
    form = _form(raw)
    preview = _preview(request, form, patient)
    try:
        plan_service.revise_plan(
            session, actor=clinician, protocols=_protocols(request), plan_id=plan_id,
            expected_version=parse_version(raw.get("version")), reason=str(raw.get("reason", "")),
            request_for=_request_for(request, form),
            options=plan_service.SaveOptions(acknowledged=tuple(form.acknowledged)),
        )  # fmt: skip
    except (InvalidInput, TitrationError) as exc:
        return _refused(request, clinician, patient, form, preview, exc, plan=record)
    return redirect(request, str(request.url_for("plans:detail", plan_id=plan_id)))


@router.post("/plans/{plan_id}/hold", name="plans:hold")
def hold_plan(
    request: Request, plan_id: int, session: SessionDep, clinician: CurrentClinician,
    reason: Reason = "", version: Version = "",
) -> Response:  # fmt: skip
    return _change_state(request, session, clinician, plan_id, "on_hold", reason, version)


@router.post("/plans/{plan_id}/resume", name="plans:resume")
def resume_plan(
    request: Request, plan_id: int, session: SessionDep, clinician: CurrentClinician,
    reason: Reason = "", version: Version = "",
) -> Response:  # fmt: skip
    return _change_state(request, session, clinician, plan_id, "active", reason, version)


@router.post("/plans/{plan_id}/discontinue", name="plans:discontinue")
def discontinue_plan(
    request: Request, plan_id: int, session: SessionDep, clinician: CurrentClinician,
    reason: Reason = "", version: Version = "",
) -> Response:  # fmt: skip
    return _change_state(request, session, clinician, plan_id, "discontinued", reason, version)


@router.post("/plans/{plan_id}/reviews", name="plans:review")
def review_plan(
    request: Request,
    plan_id: int,
    session: SessionDep,
    clinician: CurrentClinician,
    raw: PostedForm,
) -> Response:
    try:
        plan_service.review_plan(
            session, actor=clinician, plan_id=plan_id,
            expected_version=parse_version(raw.get("version")),
            acknowledged=tuple(str(c) for c in raw.getlist("acknowledged")),
            note=str(raw.get("note", "")), outcome=str(raw.get("outcome") or "approved"),
        )  # fmt: skip
    except InvalidInput as exc:
        extra = {"review_error": " ".join(p.message for p in exc.problems)}
        return _plan_page(request, session, clinician, plan_id, extra=extra, status=422)
    return redirect(request, str(request.url_for("plans:detail", plan_id=plan_id)))


@router.get("/plans/{plan_id}/history", name="plans:history")
def plan_history(
    request: Request, plan_id: int, session: SessionDep, clinician: CurrentClinician
) -> Response:
    record, versions = plan_service.read_plan(session, actor=clinician, plan_id=plan_id)
    context = {
        "plan": record, "rows": version_rows(record, versions), "clinician": clinician,
        "is_itb": record.unit == "mcg",
        "reviews": plan_service.list_reviews(session, actor=clinician, plan_id=plan_id),
        "people": people.display_names(session, (v.created_by for v in versions)),
    }  # fmt: skip
    return render(request, "plans/history.html", context)


@router.get("/plans/{plan_id}/diff", name="plans:diff")
def diff_versions(
    request: Request, plan_id: int, session: SessionDep, clinician: CurrentClinician,
    a: Annotated[int, Query(ge=1)] = 0, b: Annotated[int, Query(ge=1)] = 0,
) -> Response:  # fmt: skip
    record, versions = plan_service.read_plan(session, actor=clinician, plan_id=plan_id)
    b = b or record.current_version
    a = a or max(1, b - 1)
    left, right = _version_of(versions, a), _version_of(versions, b)
    left_view, right_view = view_of_version(left), view_of_version(right)
    sections = from_change_date(left_view, right_view) + diff_sections(left_view, right_view)
    context = {"plan": record, "a": left, "b": right, "sections": sections,
               "numbers": [v.number for v in versions], "clinician": clinician,
               "is_itb": record.unit == "mcg"}  # fmt: skip
    return render(request, "plans/diff.html", context)


@router.post("/plans/{plan_id}/refill", name="plans:refill")
def calculate_refill(
    request: Request,
    plan_id: int,
    session: SessionDep,
    clinician: CurrentClinician,
    posted: PostedForm,
) -> Response:
    refill = RefillForm.from_form({k: str(v) for k, v in posted.items()})
    result = refill.calculate(_protocols(request))
    status = 422 if isinstance(result, str) else 200
    extra = {"refill": refill, "refill_result": result if status == 422 else refill_rows(result),
             "stock": pump_stock(_protocols(request).formulary)}  # fmt: skip
    if is_partial(request):
        return render(request, "plans/_refill.html", _plan_context(
            session, clinician, plan_id, "refill.calculate") | extra,
            status_code=status)  # fmt: skip
    return _plan_page(request, session, clinician, plan_id, extra=extra, status=status,
                      operation="refill.calculate")  # fmt: skip


# ---- helpers (not handlers) -------------------------------------------------------------


def _protocols(request: Request) -> ProtocolSet:
    protocols: ProtocolSet = request.app.state.protocols
    return protocols


def _form(raw: FormData) -> PlanForm:
    return PlanForm.from_form(
        {k: str(v) for k, v in raw.items()}, [str(c) for c in raw.getlist("acknowledged")]
    )


def _preview(request: Request, form: PlanForm, patient: PatientRecord) -> Preview:
    return compute_preview(form, to_engine_patient(patient), _protocols(request))


def _fragment(
    request: Request, clinician: Actor, patient: PatientRecord, form: PlanForm
) -> Response:
    return preview_fragment.respond(
        request, clinician=clinician, patient_id=patient.id,
        patient=to_engine_patient(patient), form=form, protocols=_protocols(request),
    )  # fmt: skip


def _request_for(request: Request, form: PlanForm) -> plan_service.RequestFor:
    protocols = _protocols(request)

    def build(patient: Patient) -> PlanRequest:
        built = form.to_request(patient)
        if built is None:  # checked by the preview just before; kept for safety
            raise InvalidInput(())
        return plan_with_applicable_overrides(built, protocols)[0]

    return build


def _planner(
    request: Request, clinician: Actor, patient: PatientRecord, form: PlanForm,
    preview: Preview, *, plan: PlanRecord | None = None, status: int = 200,
    save_error: str | None = None, supersedes: int | None = None,
) -> Response:  # fmt: skip
    context = {
        "patient": patient, "form": form, "preview": preview, "plan": plan,
        "clinician": clinician, "save_error": save_error, "choices": CHOICES,
        "boluses": SCREENING_BOLUSES, "supersedes_plan_id": supersedes,
    }  # fmt: skip
    page = "plans/revise.html" if plan is not None else "plans/new.html"
    response = render(request, page, context, status_code=status)
    response.headers["Vary"] = "HX-Request"
    return response


def _refused(
    request: Request, clinician: Actor, patient: PatientRecord, form: PlanForm,
    preview: Preview, exc: Exception, *, plan: PlanRecord | None = None,
    supersedes: int | None = None,
) -> Response:  # fmt: skip
    if isinstance(exc, Conflict):  # another open plan of the route: say which, keep the form
        message = f"{exc}."
    elif isinstance(exc, InvalidInput):
        message = " ".join(p.message for p in exc.problems) or "The plan cannot be saved."
        for problem in exc.problems:
            if problem.field == "reason":  # empty, or longer than the service takes
                form.errors["reason"] = problem.message
    else:
        message = getattr(exc, "message", str(exc))
    return _planner(request, clinician, patient, form, preview, plan=plan, status=422,
                    save_error=message, supersedes=supersedes)  # fmt: skip


def _load(
    session: SessionDep, clinician: Actor, plan_id: int, operation: str = "plan.read"
) -> tuple[PlanRecord, PlanVersionRecord, PatientRecord]:
    """The plan and its patient, each read for `operation` (refused before anything is read)."""
    record, versions = plan_service.read_plan(
        session, actor=clinician, plan_id=plan_id, operation=operation
    )
    patient = patient_service.read_patient(
        session, actor=clinician, patient_id=record.patient_id, operation=operation
    )
    return record, versions[-1], patient


def _plan_context(
    session: SessionDep, clinician: Actor, plan_id: int, operation: str = "plan.read"
) -> dict[str, Any]:
    record, current, patient = _load(session, clinician, plan_id, operation)
    reviews = plan_service.list_reviews(session, actor=clinician, plan_id=plan_id)
    observations = observation_service.list_observations(session, actor=clinician, plan_id=plan_id)
    refills = refill_service.latest_refills(session, record.id) if view_is_itb(record) else []
    view = with_observation_markers(view_of_version(current), current, observations)
    names = people.display_names(session, [current.created_by, *(r.reviewed_by for r in reviews)])
    current_dose = view.dose_on(date.today())
    return {
        "plan": record, "version": current, "view": view, "patient": patient,
        "clinician": clinician, "refill": RefillForm.from_form({
            "daily_dose": _dose_number(current_dose) if view.is_itb else "",
            "fill_date": date.today().isoformat()}),
        "refill_result": None, "state_error": None,
        "current_dose_value": _dose_number(current_dose),
        "current_dose_text": format_dose(current_dose, per_day=True),
        "effective_bolus": effective_screening_bolus(current),
        "indication": json.loads(current.input_json).get("indication") or "",
        "reviews": reviews, "review_error": None, "people": names,
        "current_reviewed": any(r.version_number == current.number for r in reviews),
        "current_review": next((r for r in reviews if r.version_number == current.number), None),
        "observations": observations, "observation_error": None, "observation_values": {},
        "adverse_effects": ADVERSE_EFFECTS, "mas_scores": MAS_SCORES,
        "refills": refills, "pump_error": None, "today": date.today().isoformat(),
        "pump_values": pump_defaults(refills, date.today()),
        "taper_link": taper_link(record, current, current_dose),
        "review_findings": _reviewable(view, plan_service.reviewable_findings(current)),
    }  # fmt: skip


def _reviewable(view: PlanView, codes: tuple[str, ...]) -> list[FindingView]:
    """One checkbox per finding code a review must acknowledge, with its wording."""
    by_code = {f.code: f for f in view.findings if f.code in codes}
    return [by_code[code] for code in codes if code in by_code]


def _dose_number(dose: dict[str, str] | None) -> str:
    """The number alone ("7.5"), to prefill a field whose unit the form already shows."""
    return format_decimal(Decimal(dose["value"])) if dose else ""


def _plan_page(
    request: Request, session: SessionDep, clinician: Actor, plan_id: int, *,
    extra: dict[str, Any] | None = None, status: int = 200, operation: str = "plan.read",
) -> Response:  # fmt: skip
    context = _plan_context(session, clinician, plan_id, operation) | (extra or {})
    context["stock"] = pump_stock(_protocols(request).formulary)
    return render(request, "plans/show.html", context, status_code=status)


plan_page = _plan_page  # the loop's pages render the plan page too


def _change_state(
    request: Request, session: SessionDep, clinician: Actor, plan_id: int,
    new_state: str, reason: str, version: str,
) -> Response:  # fmt: skip
    try:
        plan_service.change_state(
            session, actor=clinician, plan_id=plan_id, expected_version=parse_version(version),
            new_state=new_state, reason=reason,
        )  # fmt: skip
    except InvalidInput:
        extra = {"state_error": "Give a reason.", "state_action": new_state}
        return _plan_page(request, session, clinician, plan_id, extra=extra, status=422)
    return redirect(request, str(request.url_for("plans:detail", plan_id=plan_id)))


def _version_of(versions: list[PlanVersionRecord], number: int) -> PlanVersionRecord:
    for version in versions:
        if version.number == number:
            return version
    raise NotFound(f"version {number} not found")
