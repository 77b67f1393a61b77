"""ORM records. Suffix ``Record`` keeps them apart from domain values; repositories convert."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import ScaledDecimal, UtcDateTime

ROLES = ("admin", "prescriber", "pharmacist", "viewer")


class ClinicRecord(Base):
    """A care team. Users, API clients and patients belong to one; nobody sees another's."""

    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UserRecord(Base):
    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint("role IN ('admin','prescriber','pharmacist','viewer')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Set by an admin's password reset: the next login leads to the change-password page
    # and nothing else until the user has chosen a password the admin never knew.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Only a system admin manages clinics and administers users of every clinic.
    is_system_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    # How pages and prints name the person ("Dr Ana Meyer", "Consultant neurologist"); the
    # username stands in while they are empty.
    display_name: Mapped[str | None] = mapped_column(String(100))
    professional_title: Mapped[str | None] = mapped_column(String(100))


class UserSessionRecord(Base):
    """A server-side login session; the cookie holds the id, the table only its SHA-256."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PasswordResetLinkRecord(Base):
    """A one-time link an admin hands to a user whose password was reset (issue 13): the
    user chooses the new password there, so the admin never knows a usable one. Only the
    SHA-256 of the link's secret is kept; a link ends when used, when it expires, or when a
    newer link for the same user is made (`ended_at`)."""

    __tablename__ = "password_reset_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ApiTokenRecord(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CalendarFeedRecord(Base):
    """A patient's subscribable calendar address; only the secret's SHA-256 is kept."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PatientRecord(Base):
    __tablename__ = "patient"
    __table_args__ = (
        CheckConstraint("sex IN ('female','male')", name="sex"),
        CheckConstraint("serum_creatinine_unit IN ('mg/dL','umol/L')", name="creatinine_unit"),
        CheckConstraint("preferred_language IN ('en','de','vi')", name="language"),
        Index("ix_patient_family_given", "family_name", "given_name"),
        # The patient list without a query: a clinic's patients in order, a page at a time.
        Index("ix_patient_clinic_search_text", "clinic_id", "search_text", "id"),
        # Search by birth date ("1976-09-14"): the clinic's patients born that day.
        Index("ix_patient_clinic_birth_date", "clinic_id", "birth_date"),
        # An MRN is unique within its clinic: a clash with another clinic's patient must not
        # reveal that the patient exists.
        UniqueConstraint("clinic_id", "mrn", name="uq_patient_clinic_mrn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    mrn: Mapped[str] = mapped_column(String(40))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    # Lower-cased "family given mrn": the order of the patient list and of search results.
    search_text: Mapped[str] = mapped_column(String(260))
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(8))
    weight_kg: Mapped[Decimal | None] = mapped_column(ScaledDecimal(4))
    height_cm: Mapped[Decimal | None] = mapped_column(ScaledDecimal(4))
    serum_creatinine_value: Mapped[Decimal | None] = mapped_column(ScaledDecimal(4))
    serum_creatinine_unit: Mapped[str | None] = mapped_column(String(8))
    serum_creatinine_on: Mapped[date | None]
    creatinine_clearance_ml_min: Mapped[Decimal | None] = mapped_column(ScaledDecimal(4))
    dialysis: Mapped[bool] = mapped_column(default=False)
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    medications: Mapped[list[str]] = mapped_column(JSON, default=list)
    pregnant: Mapped[bool] = mapped_column(default=False)
    breastfeeding: Mapped[bool] = mapped_column(default=False)
    spinal_injury_level: Mapped[str | None] = mapped_column(String(4))
    brain_injury_on: Mapped[date | None]
    preferred_language: Mapped[str] = mapped_column(String(2), default="en")
    # The condition baclofen treats (the planner's indication codes); the planner prefills it.
    indication: Mapped[str | None] = mapped_column(String(32))
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    archive_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


# Prefix search compares terms bytewise (a range up to U+10FFFF); PostgreSQL's default
# collation is linguistic, so its column is COLLATE "C". SQLite's BINARY already is.
SEARCH_TERM = String(100).with_variant(String(100, collation="C"), "postgresql")


class PatientSearchTermRecord(Base):
    """One normalised word of a patient's family name, given name or MRN; patient search
    matches these by prefix with an index range (repositories/patient_search.py).

    The primary key is the search index itself: a range of terms yields the matching
    patients with their list order (`sort_key`, the patient's search_text) without reading
    any patient row, so a common prefix costs an index scan, not a row per match."""

    __tablename__ = "patient_search_term"

    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), primary_key=True)
    term: Mapped[str] = mapped_column(SEARCH_TERM, primary_key=True)
    sort_key: Mapped[str] = mapped_column(String(260), primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), primary_key=True, index=True)


class AuditEventRecord(Base):
    """Append-only trail of every write and every read of patient data (triggers forbid change)."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))  # user | token | system | anonymous
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40), index=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(40))
    patient_id: Mapped[int | None] = mapped_column(index=True)
    old_version: Mapped[int | None]
    new_version: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(40))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="success")
    # The clinic the row belongs to (the record it concerns, else the actor's), so an admin
    # reviews only their own clinic's trail (issue 13). NULL on rows written before the
    # column existed (attributed through their actor, patient or target when reviewed) and
    # on rows of no clinic (the system's own, unknown usernames).
    clinic_id: Mapped[int | None] = mapped_column(index=True)
    # The HMAC key the row was chained with (app/db/audit_chain.py); NULL before keys existed.
    key_id: Mapped[str | None] = mapped_column(String(16))
    # Hash chain (app/db/audit_chain.py): prev_hash is the row_hash of id - 1.
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class AuditChainHeadRecord(Base):
    """The one row naming the newest audit event and its hash. Writers lock it (FOR UPDATE on
    PostgreSQL) before they read the previous hash, so ids and chain order always agree."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_id: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
    # Rows up to this id were chained by the migration; their ids came from a sequence and
    # may skip numbers. Later ids are handed out here, one after the other.
    legacy_last_id: Mapped[int]
    # Rows up to this id were chained before the chain was keyed; every later row is keyed.
    unkeyed_last_id: Mapped[int | None]
    # HMAC over (last_id, last_hash, unkeyed_last_id) with the current key: a trail rewritten
    # or cut short without the key no longer matches its seal.
    seal: Mapped[str | None] = mapped_column(String(64))


class PlanRecord(Base):
    """A plan's identity and state; its content lives in immutable PlanVersionRecords."""

    __tablename__ = "plan"
    __table_args__ = (
        CheckConstraint("state IN ('active','on_hold','completed','discontinued')", name="state"),
        CheckConstraint("unit IN ('mg','mcg')", name="unit"),
        Index("ix_plan_patient_unit_state", "patient_id", "unit", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    plan_type: Mapped[str] = mapped_column(String(20))
    # Fixed by the route at creation (oral: mg, intrathecal: mcg); never a user toggle.
    unit: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16), default="active")
    state_reason: Mapped[str | None] = mapped_column(Text)
    current_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    # "user" or "client" (an API token): a client is never shown as a person.
    created_by_kind: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The plan of the same route this one followed; that plan ended as `completed` when this
    # one was saved (a taper after a titration, an ITB titration after its screening).
    supersedes_plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"))
    # Optimistic lock: every change of the plan (revision, hold, discontinue) bumps it.
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012


class PlanVersionRecord(Base):
    """One saved version of a plan: written once, never updated (a trigger refuses it)."""

    __tablename__ = "plan_version"
    __table_args__ = (
        CheckConstraint("action IN ('create','revise')", name="action"),
        CheckConstraint("status IN ('ready','blocked')", name="status"),
        Index("uq_plan_version_plan_number", "plan_id", "number", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    number: Mapped[int]
    previous_version_id: Mapped[int | None] = mapped_column(ForeignKey("plan_version.id"))
    action: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))
    # Canonical JSON (decimals as strings, so nothing passes through float).
    input_json: Mapped[str] = mapped_column(Text)
    plan_json: Mapped[str] = mapped_column(Text)
    acknowledged: Mapped[list[str]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    created_by_role: Mapped[str | None] = mapped_column(String(16))
    created_by_kind: Mapped[str | None] = mapped_column(String(8))  # "user" | "client"
    created_by_id: Mapped[int | None]  # the user's or the token's id (NULL on older rows)

    @property
    def author_kind(self) -> str:
        """ "user" or "client"; rows before the column: tokens have no role."""
        return self.created_by_kind or ("user" if self.created_by_role else "client")


class PlanReviewRecord(Base):
    """A pharmacist's review of one plan version: written once, never changed (a trigger
    refuses it). A new version needs a review of its own."""

    __tablename__ = "plan_review"
    __table_args__ = (
        CheckConstraint("outcome IN ('approved','query','rejected')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("plan_version.id"))
    version_number: Mapped[int]
    # The finding codes of that version the reviewer acknowledged (every non-info finding).
    acknowledged: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reviewed_by: Mapped[str] = mapped_column(String(100))
    reviewed_by_role: Mapped[str | None] = mapped_column(String(16))
    reviewed_by_kind: Mapped[str | None] = mapped_column(String(8))  # "user" | "client"
    reviewed_by_id: Mapped[int | None]

    outcome: Mapped[str] = mapped_column(String(12), default="approved")

    @property
    def reviewer_kind(self) -> str:
        return self.reviewed_by_kind or ("user" if self.reviewed_by_role else "client")


class ObservationRecord(Base):
    """A follow-up of the patient on a plan: what the clinician saw or heard, and the
    suggestion the sourced rules made from it (kept as made, with its rule)."""

    __tablename__ = "observation"
    __table_args__ = (
        CheckConstraint(
            "mas_score IS NULL OR mas_score IN ('0','1','1+','2','3','4')", name="mas_score"
        ),
        CheckConstraint(
            "spasm_frequency IS NULL OR spasm_frequency BETWEEN 0 AND 4", name="spasm_frequency"
        ),
        CheckConstraint("benefit IS NULL OR benefit IN ('none','some','clear')", name="benefit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    # The plan version current when the observation was recorded.
    version_number: Mapped[int]
    observed_on: Mapped[date]
    mas_score: Mapped[str | None] = mapped_column(String(2))
    spasm_frequency: Mapped[int | None]
    adverse_effects: Mapped[list[str]] = mapped_column(JSON, default=list)
    benefit: Mapped[str | None] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)
    suggestion: Mapped[str] = mapped_column(String(16))
    suggestion_rule: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_by_role: Mapped[str | None] = mapped_column(String(16))


class ObservationDecisionRecord(Base):
    """The step a clinician took on an observation's suggestion: the plan version it made.
    One per observation (primary key), so two clinicians acting on the same suggestion make
    one new version; the other is refused."""

    __tablename__ = "observation_decision"

    observation_id: Mapped[int] = mapped_column(
        ForeignKey("observation.id"), primary_key=True, autoincrement=False
    )
    action: Mapped[str] = mapped_column(String(16))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    version_number: Mapped[int]
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_by: Mapped[str] = mapped_column(String(100))


class PumpRefillRecord(Base):
    """One refill of an intrathecal pump, with the alarm date and refill window computed from
    the plan's daily dose day by day at the time it was recorded."""

    __tablename__ = "pump_refill"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    version_number: Mapped[int]
    filled_on: Mapped[date]
    reservoir_ml: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    alarm_volume_ml: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    concentration_mcg_per_ml: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    max_refill_interval_days: Mapped[int]
    # mcg/day on the fill date (what the card prints beside the concentration).
    daily_dose_mcg: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    alarm_date: Mapped[date]
    refill_due_date: Mapped[date]
    window_start: Mapped[date]
    window_end: Mapped[date]
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_by_role: Mapped[str | None] = mapped_column(String(16))


class IdempotencyKeyRecord(Base):
    """A client's Idempotency-Key: a retried create returns the first plan instead of a second."""

    __tablename__ = "idempotency_key"
    __table_args__ = (Index("uq_idempotency_key_client_key", "client", "key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LoginAttemptRecord(Base):
    """One login attempt. Rate limits count these, so every worker and instance agrees."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_account_at", "account", "attempted_at"),
        Index("ix_login_attempt_client_ip_at", "client_ip", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(64))  # the username as typed, case-folded
    client_ip: Mapped[str | None] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    succeeded: Mapped[bool]


class PatientEhrValueRecord(Base):
    """Where an imported value came from (API.md §5.4): the EHR, the FHIR resource's address
    and the date it was measured or recorded. One row per imported field (a row per
    medication); a new import of the patient replaces the rows, the audit trail keeps each."""

    __tablename__ = "patient_ehr_value"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    ehr_id: Mapped[str] = mapped_column(String(40))
    field: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(500))
    effective_on: Mapped[date | None]
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime())


PROTOCOL_STATUSES = ("draft", "approved", "superseded")


class ProtocolRecord(Base):
    """One protocol the engine reads (issue 17): its id is the protocol document's id."""

    __tablename__ = "protocol"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))


class ProtocolVersionRecord(Base):
    """One version of a protocol: the whole document as stored text (each parameter with its
    value, unit and source) and the SHA-256 of its UTF-8 bytes, the fingerprint plans keep.

    A draft never reaches the engine. Approval (by someone other than its author) sets
    ``effective_from``; the effective version of a protocol on a day is its approved or
    superseded version with the latest ``effective_from`` on or before that day.
    """

    __tablename__ = "protocol_version"
    __table_args__ = (
        UniqueConstraint("protocol_id", "version", name="uq_protocol_version_number"),
        CheckConstraint("status IN ('draft','approved','superseded')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_id: Mapped[str] = mapped_column(ForeignKey("protocol.id"), index=True)
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(12))
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    drafted_by: Mapped[str] = mapped_column(String(100))
    drafted_by_kind: Mapped[str] = mapped_column(String(8))  # "user" | "client" | "system"
    drafted_by_id: Mapped[int | None]
    drafted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_by_kind: Mapped[str | None] = mapped_column(String(8))
    approved_by_id: Mapped[int | None]
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    effective_from: Mapped[date | None]


class PlanProtocolReviewRecord(Base):
    """A plan version whose schedule an approved protocol version changes (issue 17): written
    in the approval's transaction, shown on the worklist as "protocol updated — review" while
    that version is the plan's current one. A revision adds a new version, computed with the
    protocols then in force, so the row stops applying; nothing here rewrites a saved version.
    """

    __tablename__ = "plan_protocol_review"
    __table_args__ = (
        UniqueConstraint(
            "plan_id", "plan_version", "protocol_version_id", name="uq_plan_protocol_review"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    plan_version: Mapped[int]
    protocol_version_id: Mapped[int] = mapped_column(ForeignKey("protocol_version.id"))
    # The first day the approved version changes the schedule, and the step then.
    differs_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
