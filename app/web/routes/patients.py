"""Patient pages: list with live search, create, show, edit, archive."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from app.db.models import PatientRecord
from app.db.repositories.patients import to_facts
from app.domain.patients import CONDITIONS, PatientFacts
from app.services import patients as patient_service
from app.services.errors import InvalidInput
from app.services.pagination import BadCursor, decode_cursor, encode_cursor
from app.services.permissions import require
from app.web.deps import CurrentClinician, PostedForm, SessionDep
from app.web.forms import PatientForm, parse_version
from app.web.htmx import is_partial, redirect
from app.web.plan_views import INDICATION_LABELS
from app.web.templating import render

router = APIRouter(prefix="/patients")


@router.get("", name="patients:index")
def list_patients(
    request: Request,
    session: SessionDep,
    clinician: CurrentClinician,
    q: Annotated[str, Query(max_length=100)] = "",
    cursor: Annotated[str, Query(max_length=400)] = "",
) -> Response:
    try:
        after = decode_cursor(cursor)
    except BadCursor:
        after = None  # a mangled "next" link restarts the list rather than failing the page
    page = patient_service.search_patients(session, actor=clinician, text=q, limit=20, after=after)
    next_cursor = encode_cursor(page.next_after) if page.next_after else None
    context = {"patients": page.items, "q": q, "next_cursor": next_cursor, "clinician": clinician}
    template = "patients/_table.html" if is_partial(request) else "patients/index.html"
    response = render(request, template, context)
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/new", name="patients:new")
def new_patient(request: Request, clinician: CurrentClinician) -> Response:
    require(clinician, "patient.create")  # the form reads nothing; refuse it before it is filled
    return _form_page(request, clinician, PatientForm.empty(), patient=None)


@router.post("", name="patients:create")
def create_patient(
    request: Request, session: SessionDep, clinician: CurrentClinician, posted: PostedForm
) -> Response:
    form = PatientForm.from_form(posted)
    facts = form.to_facts()
    if facts is None:
        return _form_page(request, clinician, form, patient=None, status=422)
    try:
        record = patient_service.create_patient(
            session, actor=clinician, facts=facts, today=date.today()
        )
    except InvalidInput as exc:
        form.add_problems(exc.problems)
        return _form_page(request, clinician, form, patient=None, status=422)
    return redirect(request, str(request.url_for("patients:detail", patient_id=record.id)))


@router.get("/{patient_id}", name="patients:detail")
def show_patient(
    request: Request, patient_id: int, session: SessionDep, clinician: CurrentClinician
) -> Response:
    record = patient_service.read_patient(session, actor=clinician, patient_id=patient_id)
    return render(request, "patients/detail.html", _detail_context(record, clinician))


@router.get("/{patient_id}/edit", name="patients:edit")
def edit_patient(
    request: Request, patient_id: int, session: SessionDep, clinician: CurrentClinician
) -> Response:
    record = patient_service.read_patient(
        session, actor=clinician, patient_id=patient_id, operation="patient.update"
    )
    return _form_page(request, clinician, PatientForm.from_facts(to_facts(record)), patient=record)


@router.post("/{patient_id}", name="patients:update")
def update_patient(
    request: Request,
    patient_id: int,
    session: SessionDep,
    clinician: CurrentClinician,
    raw: PostedForm,
) -> Response:
    form = PatientForm.from_form(raw)
    record = patient_service.read_patient(
        session, actor=clinician, patient_id=patient_id, operation="patient.update"
    )
    facts = form.to_facts()
    if facts is None:
        return _form_page(request, clinician, form, patient=record, status=422)
    try:
        patient_service.update_patient(
            session,
            actor=clinician,
            patient_id=patient_id,
            expected_version=parse_version(raw.get("version")),
            changes=_changed_fields(facts, record),
            today=date.today(),
        )
    except InvalidInput as exc:
        form.add_problems(exc.problems)
        return _form_page(request, clinician, form, patient=record, status=422)
    return redirect(request, str(request.url_for("patients:detail", patient_id=patient_id)))


@router.post("/{patient_id}/archive", name="patients:archive")
def archive_patient(
    request: Request,
    patient_id: int,
    session: SessionDep,
    clinician: CurrentClinician,
    reason: Annotated[str, Form(max_length=1000)] = "",
    version: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    try:
        patient_service.archive_patient(
            session,
            actor=clinician,
            patient_id=patient_id,
            expected_version=parse_version(version),
            reason=reason,
        )
    except InvalidInput as exc:
        record = patient_service.read_patient(session, actor=clinician, patient_id=patient_id)
        context = _detail_context(record, clinician) | {"archive_error": exc.problems[0].message}
        return render(request, "patients/detail.html", context, status_code=422)
    return redirect(request, str(request.url_for("patients:index")))


def _form_page(
    request: Request, clinician: object, form: PatientForm, *, patient: object, status: int = 200
) -> Response:
    context = {
        "form": form, "patient": patient, "conditions": CONDITIONS, "clinician": clinician,
        "indications": [("", "Not recorded"), *INDICATION_LABELS.items()],
    }  # fmt: skip
    template = "patients/_form.html" if is_partial(request) else "patients/form.html"
    return render(request, template, context, status_code=status)


def _changed_fields(facts: PatientFacts, record: PatientRecord) -> dict[str, object]:
    current = to_facts(record)
    return {
        f.name: getattr(facts, f.name)
        for f in dataclasses.fields(current)
        if getattr(facts, f.name) != getattr(current, f.name)
    }


LANGUAGE_NAMES = {"en": "English", "de": "German (Deutsch)", "vi": "Vietnamese (Tiếng Việt)"}


def _detail_context(record: PatientRecord, clinician: object) -> dict[str, object]:
    return {
        "patient": record,
        "clinician": clinician,
        "language_name": LANGUAGE_NAMES.get(record.preferred_language, record.preferred_language),
        "indication_name": INDICATION_LABELS.get(record.indication or "", ""),
    }
