"""The pump's record: refills of an intrathecal plan's pump, each with the alarm date and
refill window computed from the plan's daily dose on every day from the fill date (a rising
titration uses more than its first day's dose), as the plan stood when the refill was
recorded. The plan page, the pump card, the worklist and the calendar read these rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import PlanRecord, PlanVersionRecord, PumpRefillRecord
from app.db.repositories import plans as plan_repo
from app.domain.patients import FieldProblem
from app.domain.titration import Dose, DoseUnit, RefillPlan
from app.domain.titration.library import ProtocolSet
from app.domain.titration.refill import DoseSpan, calculate_refill_over_schedule
from app.services import audit
from app.services.audit import AuditEntry
from app.services.context import Actor, utc_now
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.permissions import clinic_scope, require

INTRATHECAL_TITRATION = "itb_titration"


@dataclass(frozen=True, slots=True)
class RefillInput:
    filled_on: date
    reservoir_ml: Decimal
    alarm_volume_ml: Decimal | None
    concentration_mcg_per_ml: Decimal
    max_refill_interval_days: int | None


def schedule_of(version: PlanVersionRecord) -> tuple[DoseSpan, ...]:
    """The daily dose of each step of a stored version, as the refill arithmetic takes it."""
    steps = json.loads(version.plan_json).get("steps") or []
    return tuple(
        DoseSpan(
            date.fromisoformat(s["start_date"]),
            date.fromisoformat(s["end_date"]),
            Dose(Decimal(s["daily_dose"]["value"]), DoseUnit(s["daily_dose"]["unit"])),
        )
        for s in steps
    )


def calculate_for_plan(
    version: PlanVersionRecord, protocols: ProtocolSet, data: RefillInput
) -> RefillPlan:
    """Alarm date and window over the version's schedule (raises the domain's 422 errors)."""
    return calculate_refill_over_schedule(
        reservoir_ml=data.reservoir_ml, alarm_volume_ml=data.alarm_volume_ml,
        concentration_mcg_per_ml=data.concentration_mcg_per_ml, schedule=schedule_of(version),
        fill_date=data.filled_on, max_refill_interval_days=data.max_refill_interval_days,
        protocols=protocols,
    )  # fmt: skip


def dose_on(version: PlanVersionRecord, day: date) -> Decimal | None:
    """The version's daily dose on `day` (its first before it starts, its last after)."""
    schedule = schedule_of(version)
    for span in schedule:
        if day <= span.end:
            return span.daily_dose.value
    return schedule[-1].daily_dose.value if schedule else None


def record_refill(
    session: Session, *, actor: Actor, protocols: ProtocolSet, plan_id: int, data: RefillInput
) -> PumpRefillRecord:
    require(actor, "refill.record")
    plan = _load_plan(session, actor, plan_id)
    if plan.plan_type != INTRATHECAL_TITRATION:
        raise Conflict("only an intrathecal titration has a pump to refill")
    if plan.state in ("discontinued", "completed"):
        raise Conflict(f"a {plan.state} plan takes no refills")
    if data.max_refill_interval_days is None:
        message = "The maximum refill interval from the drug and device labelling is required."
        raise InvalidInput((FieldProblem("max_refill_interval_days", message),))
    version = plan_repo.version(session, plan.id, plan.current_version)
    assert version is not None  # nosec B101 - a plan always has its current version
    result = calculate_for_plan(version, protocols, data)
    daily_dose = dose_on(version, data.filled_on)
    assert daily_dose is not None  # nosec B101 - calculate_for_plan refuses an empty schedule
    assert data.alarm_volume_ml is not None  # nosec B101 - the calculation refuses a missing one
    refill = PumpRefillRecord(
        plan_id=plan.id, version_number=version.number, filled_on=data.filled_on,
        reservoir_ml=data.reservoir_ml, alarm_volume_ml=data.alarm_volume_ml,
        concentration_mcg_per_ml=data.concentration_mcg_per_ml,
        max_refill_interval_days=data.max_refill_interval_days, daily_dose_mcg=daily_dose,
        alarm_date=result.alarm_date, refill_due_date=result.refill_due_date,
        window_start=result.window_start, window_end=result.window_end,
        recorded_at=utc_now(), recorded_by=actor.name, recorded_by_role=actor.role,
    )  # fmt: skip
    session.add(refill)
    session.flush()
    audit.record(
        session,
        actor,
        AuditEntry(
            "refill.record", "pump_refill", str(refill.id), plan.patient_id,
            version.number, version.number, None,
            {"plan_id": plan.id, "alarm_date": refill.alarm_date.isoformat()},
        ),
    )  # fmt: skip
    session.commit()
    return refill


def list_refills(session: Session, *, actor: Actor, plan_id: int) -> list[PumpRefillRecord]:
    """The pump's refills, newest first."""
    require(actor, "plan.read")
    plan = _load_plan(session, actor, plan_id)
    return latest_refills(session, plan.id)


def latest_refills(session: Session, plan_id: int) -> list[PumpRefillRecord]:
    """Refills of a plan already loaded within the actor's clinic, newest first."""
    query = (
        select(PumpRefillRecord)
        .where(PumpRefillRecord.plan_id == plan_id)
        .order_by(PumpRefillRecord.filled_on.desc(), PumpRefillRecord.id.desc())
    )
    return list(session.scalars(query))


def _load_plan(session: Session, actor: Actor, plan_id: int) -> PlanRecord:
    record = plan_repo.get(session, plan_id, clinic_id=clinic_scope(actor))
    if record is None:
        raise NotFound(f"plan {plan_id} not found")
    return record
