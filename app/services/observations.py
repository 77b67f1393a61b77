"""The titration loop: follow-up observations, the suggestion the sourced rules make from
each, and acting on a suggestion in one step.

Acting makes exactly one change, in one transaction with its decision row (one per
observation, so a second clinician acting on the same suggestion is refused):
- `step_back` / `hold` on an oral titration: a revision that continues from the action
  date ("continue from today") at the previous lower level (step back) or at today's level
  (hold), held there: `current_daily_dose` = `target_daily_dose` = that level;
- `taper` on an oral titration: a new oral taper from today's dose that completes the
  titration (`supersedes_plan_id`);
- `continue` and `see_clinician` change nothing here (the second is a person's decision).
The new version's reason names the observation and the rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import (
    ObservationDecisionRecord,
    ObservationRecord,
    PlanRecord,
    PlanVersionRecord,
)
from app.db.repositories import patients as patient_repo
from app.db.repositories import plans as plan_repo
from app.domain import titration
from app.domain.patients import FieldProblem
from app.domain.titration.findings import Severity
from app.domain.titration.follow_up import (
    MAS_SCORES,
    AdverseEffect,
    Benefit,
    FollowUp,
    FollowUpRules,
    Level,
    Suggestion,
    SuggestionKind,
    levels_on,
    load_follow_up_rules,
)
from app.domain.titration.library import ProtocolSet
from app.domain.titration.model import (
    Patient,
    PlanRequest,
    PlanType,
    TaperReason,
)
from app.domain.titration.units import Dose, DoseUnit
from app.services import audit
from app.services import plans as plan_service
from app.services.audit import AuditEntry
from app.services.context import Actor, utc_now
from app.services.errors import Conflict, InvalidInput, NotFound, StaleVersion
from app.services.permissions import clinic_scope, require
from app.services.plan_codec import request_from_plain

ACTIONABLE = {
    SuggestionKind.STEP_BACK: "revise",
    SuggestionKind.HOLD: "revise",
    SuggestionKind.TAPER: "taper",
}
EARLIEST, LATEST = date(1900, 1, 1), date(2200, 12, 31)


@cache
def follow_up_rules() -> FollowUpRules:
    """The packaged follow-up rules, read and checked once per process."""
    return load_follow_up_rules()


@dataclass(frozen=True, slots=True)
class ObservationInput:
    observed_on: date
    mas_score: str | None = None
    spasm_frequency: int | None = None
    adverse_effects: tuple[str, ...] = ()
    benefit: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ObservationView:
    """An observation with its suggestion's wording and what was done about it."""

    record: ObservationRecord
    suggestion: Suggestion
    decision: ObservationDecisionRecord | None

    @property
    def actionable(self) -> bool:
        return self.decision is None and self.suggestion.kind in ACTIONABLE


def record_observation(
    session: Session, *, actor: Actor, plan_id: int, data: ObservationInput, today: date
) -> ObservationView:
    require(actor, "plan.observe")
    _check(data, today)
    plan = _load_plan(session, actor, plan_id)
    if plan.state not in plan_service.OPEN_STATES:
        raise Conflict(f"a {plan.state.replace('_', ' ')} plan takes no observations")
    current = plan_repo.version(session, plan.id, plan.current_version)
    assert current is not None  # nosec B101 - a plan always has its current version
    suggestion = suggest(plan, current, data)
    record = ObservationRecord(
        plan_id=plan.id, version_number=current.number, observed_on=data.observed_on,
        mas_score=data.mas_score, spasm_frequency=data.spasm_frequency,
        adverse_effects=sorted(set(data.adverse_effects)), benefit=data.benefit,
        note=data.note.strip() or None, suggestion=suggestion.kind.value,
        suggestion_rule=suggestion.rule, recorded_at=utc_now(), recorded_by=actor.name,
        recorded_by_role=actor.role,
    )  # fmt: skip
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor,
        AuditEntry(
            "plan.observe", "observation", str(record.id), plan.patient_id,
            current.number, current.number, None,
            {"plan_id": plan.id, "suggestion": suggestion.kind.value, "rule": suggestion.rule},
        ),
    )  # fmt: skip
    session.commit()
    return ObservationView(record, suggestion, None)


def list_observations(session: Session, *, actor: Actor, plan_id: int) -> list[ObservationView]:
    """Every observation of the plan, oldest first, with the decision taken on each."""
    require(actor, "plan.read")
    plan = _load_plan(session, actor, plan_id)
    records = list(
        session.scalars(
            select(ObservationRecord)
            .where(ObservationRecord.plan_id == plan.id)
            .order_by(ObservationRecord.observed_on, ObservationRecord.id)
        )
    )
    decisions = {
        d.observation_id: d
        for d in session.scalars(
            select(ObservationDecisionRecord).where(
                ObservationDecisionRecord.observation_id.in_([r.id for r in records])
            )
        )
    }
    rules = {rule.suggestion.rule: rule.suggestion for rule in follow_up_rules().rules}
    return [
        ObservationView(r, rules.get(r.suggestion_rule) or _stored(r), decisions.get(r.id))
        for r in records
    ]


def act_on_observation(
    session: Session, *, actor: Actor, protocols: ProtocolSet, plan_id: int,
    observation_id: int, expected_version: int, today: date,
) -> tuple[PlanRecord, PlanVersionRecord]:  # fmt: skip
    """Take the observation's suggested step; returns the plan and version it made."""
    require(actor, "plan.revise")  # before any read: the answer says nothing of the record
    plan = _load_plan(session, actor, plan_id)
    observation = session.get(ObservationRecord, observation_id)
    if observation is None or observation.plan_id != plan.id:
        raise NotFound(f"observation {observation_id} not found")
    kind = SuggestionKind(observation.suggestion)
    if kind is SuggestionKind.TAPER:
        require(actor, "plan.create")
    if session.get(ObservationDecisionRecord, observation.id) is not None:
        raise Conflict("this observation has already been acted on")
    if kind not in ACTIONABLE or plan.plan_type != PlanType.ORAL_TITRATION.value:
        raise Conflict(
            f"'{kind.value.replace('_', ' ')}' on this plan is decided in the planner, "
            "not in one step"
        )
    current = plan_repo.version(session, plan.id, plan.current_version)
    assert current is not None  # nosec B101: an invariant that narrows the type
    levels = _levels(current)
    today_level, lower = levels_on(levels, today)
    level = lower if kind is SuggestionKind.STEP_BACK else today_level
    if level is None:
        raise Conflict("there is no lower level to step back to; hold instead")
    reason = (
        f"Observation of {observation.observed_on.isoformat()}: "
        f"{', '.join(observation.adverse_effects) or 'no adverse effect'}"
        f"{'; benefit ' + observation.benefit if observation.benefit else ''}. "
        f"{kind.value.replace('_', ' ').capitalize()} ({observation.suggestion_rule})."
    )
    stored = json.loads(current.input_json)
    dose = Dose(level, DoseUnit.MG)

    def decide(session: Session, record: PlanRecord, version: PlanVersionRecord) -> None:
        session.add(
            ObservationDecisionRecord(
                observation_id=observation.id, action=kind.value, plan_id=record.id,
                version_number=version.number, decided_at=utc_now(), decided_by=actor.name,
            )
        )  # fmt: skip
        session.flush()

    try:
        if kind is SuggestionKind.TAPER:

            def taper(patient: Patient) -> PlanRequest:
                return replace(
                    _request(stored, patient), plan_type=PlanType.ORAL_TAPER, start_date=today,
                    current_daily_dose=dose, target_daily_dose=None, step_interval_days=None,
                    overrides=(), taper_reason=TaperReason.NO_BENEFIT,
                )  # fmt: skip

            options = plan_service.SaveOptions(
                acknowledged=_carried_acknowledgements(session, protocols, plan, current, taper),
                supersedes_plan_id=plan.id, reason=reason, on_saved=decide,
            )  # fmt: skip
            if plan.current_version != expected_version:
                raise StaleVersion(expected=expected_version, current=plan.current_version)
            record, version, _ = plan_service.create_plan(
                session, actor=actor, protocols=protocols, patient_id=plan.patient_id,
                request_for=taper, options=options,
            )  # fmt: skip
            return record, version

        def held(patient: Patient) -> PlanRequest:
            return replace(
                _request(stored, patient), start_date=today, current_daily_dose=dose,
                target_daily_dose=dose,
            )  # fmt: skip

        options = plan_service.SaveOptions(
            acknowledged=_carried_acknowledgements(session, protocols, plan, current, held),
            on_saved=decide,
        )
        return plan_service.revise_plan(
            session, actor=actor, protocols=protocols, plan_id=plan.id,
            expected_version=expected_version, reason=reason, request_for=held, options=options,
        )  # fmt: skip
    except IntegrityError as exc:  # the other clinician's decision was committed first
        session.rollback()
        raise Conflict("this observation has already been acted on") from exc


def suggest(plan: PlanRecord, current: PlanVersionRecord, data: ObservationInput) -> Suggestion:
    plain = json.loads(current.plan_json)
    levels = _levels(current)
    start = date.fromisoformat(plain["steps"][0]["start_date"]) if plain.get("steps") else None
    review_days = [int(m["day"]) for m in plain.get("milestones", []) if m["kind"] == "review"]
    if start is None:  # a blocked version has no steps: nothing to step back to
        plan_day, lower = 1, False
    else:
        plan_day = (data.observed_on - start).days + 1
        lower = levels_on(levels, data.observed_on)[1] is not None
    follow_up = FollowUp(
        adverse_effects=frozenset(AdverseEffect(e) for e in data.adverse_effects),
        benefit=Benefit(data.benefit) if data.benefit else None,
        plan_type=PlanType(plan.plan_type),
        plan_day=plan_day,
        review_day=min(review_days) if review_days else 43,
        has_lower_level=lower,
    )
    return follow_up_rules().suggest(follow_up)


def _levels(version: PlanVersionRecord) -> list[Level]:
    steps = json.loads(version.plan_json).get("steps") or []
    return [
        Level(
            date.fromisoformat(s["start_date"]),
            date.fromisoformat(s["end_date"]),
            Decimal(s["daily_dose"]["value"]),
        )
        for s in steps
    ]


def _check(data: ObservationInput, today: date) -> None:
    problems = []
    if not EARLIEST <= data.observed_on <= today:
        problems.append(FieldProblem("observed_on", "A date from 1900 up to today."))
    if data.mas_score is not None and data.mas_score not in MAS_SCORES:
        problems.append(FieldProblem("spasticity", "Modified Ashworth: 0, 1, 1+, 2, 3 or 4."))
    if data.spasm_frequency is not None and not 0 <= data.spasm_frequency <= 4:
        problems.append(FieldProblem("spasm_frequency", "Penn spasm frequency: 0 to 4."))
    if not set(data.adverse_effects) <= set(AdverseEffect):
        problems.append(FieldProblem("adverse_effects", "Unknown adverse effect code."))
    if data.benefit is not None and data.benefit not in set(Benefit):
        problems.append(FieldProblem("benefit", "None, some or clear."))
    if len(data.note) > plan_service.MAX_NOTE_LENGTH:
        message = f"At most {plan_service.MAX_NOTE_LENGTH} characters."
        problems.append(FieldProblem("note", message))
    if problems:
        raise InvalidInput(tuple(problems))


def _request(stored: dict[str, Any], patient: Patient) -> PlanRequest:
    """An oral request from a stored version's canonical input (the record's patient)."""
    return replace(
        request_from_plain(stored), patient=patient, intrathecal=None, taper_min_days=None
    )


def _carried_acknowledgements(
    session: Session, protocols: ProtocolSet, plan: PlanRecord, current: PlanVersionRecord,
    request_for: plan_service.RequestFor,
) -> tuple[str, ...]:  # fmt: skip
    """The new version's major findings that the plan's prescriber already acknowledged or
    overrode; any other major finding must still be acknowledged (422 names it)."""
    patient = patient_repo.get(session, plan.patient_id, clinic_id=None)
    assert patient is not None  # nosec B101: an invariant that narrows the type
    built = titration.build_plan(request_for(patient_repo.to_engine_patient(patient)), protocols)
    known = set(current.acknowledged) | {
        o["code"] for o in json.loads(current.input_json).get("overrides") or []
    }
    return tuple(
        sorted(f.code for f in built.findings if f.severity is Severity.MAJOR and f.code in known)
    )


def _stored(record: ObservationRecord) -> Suggestion:
    # A rule id the current file no longer has: the stored kind and rule, without wording.
    return Suggestion(SuggestionKind(record.suggestion), record.suggestion_rule, "", "")


def _load_plan(session: Session, actor: Actor, plan_id: int) -> PlanRecord:
    record = plan_repo.get(session, plan_id, clinic_id=clinic_scope(actor))
    if record is None:
        raise NotFound(f"plan {plan_id} not found")
    return record
