"""Who may do what: one table of operations, the roles allowed each, and token scopes.

`ACCESS.md` at the repository root is the written form of these tables; a test parses it
and fails when the two differ. Every service entry point that reads or writes patient data
calls `require(actor, operation)` before it touches a record, so both HTTP surfaces (and any
future one) get the same answer.

Least privilege: the admin runs the system (users, tokens, clinics, the audit trail) and sees
no patient data; audit rows carry record ids, never names. Client systems (API tokens) keep
their scopes; each scope grants a fixed set of operations (`SCOPE_OPERATIONS`). The command
line runs as `SYSTEM` and may do everything.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.services import audit
from app.services.audit import AuditEntry
from app.services.context import Actor
from app.services.errors import Forbidden

ADMIN, PRESCRIBER, PHARMACIST, VIEWER = "admin", "prescriber", "pharmacist", "viewer"
_CLINICIANS = frozenset({PRESCRIBER, PHARMACIST, VIEWER})
_DISPENSING = frozenset({PRESCRIBER, PHARMACIST})

OPERATIONS: dict[str, frozenset[str]] = {
    "patient.read": _CLINICIANS,
    "patient.search": _CLINICIANS,
    "patient.create": frozenset({PRESCRIBER}),
    "patient.update": frozenset({PRESCRIBER}),
    "patient.archive": frozenset({PRESCRIBER}),
    "plan.read": _CLINICIANS,
    "plan.preview": _DISPENSING,
    "plan.create": frozenset({PRESCRIBER}),
    "plan.revise": frozenset({PRESCRIBER}),
    "plan.hold": frozenset({PRESCRIBER}),
    "plan.resume": frozenset({PRESCRIBER}),
    "plan.discontinue": frozenset({PRESCRIBER}),
    "plan.override": frozenset({PRESCRIBER}),
    "plan.observe": frozenset({PRESCRIBER}),
    "plan.review": frozenset({PHARMACIST}),
    "plan.print": _DISPENSING,
    "plan.export": _DISPENSING,
    "calendar_feed.manage": frozenset({PRESCRIBER}),
    "refill.calculate": _DISPENSING,
    "refill.record": frozenset({PRESCRIBER}),
    "user.manage": frozenset({ADMIN}),
    "token.manage": frozenset({ADMIN}),
    "clinic.manage": frozenset({ADMIN}),
    "audit.review": frozenset({ADMIN}),
    "protocol.read": _CLINICIANS,
    "protocol.draft": frozenset({PHARMACIST}),
    "protocol.approve": frozenset({PHARMACIST}),
}

# A client system (API token) is limited by its scopes; no scope reaches administration.
# plans:review is its own scope so that a system that writes plans cannot also sign off
# the pharmacist's check of them (separation of duties).
SCOPE_OPERATIONS: dict[str, frozenset[str]] = {
    "patients:read": frozenset({"patient.read", "patient.search"}),
    "patients:write": frozenset({"patient.create", "patient.update", "patient.archive"}),
    "plans:read": frozenset({"plan.read", "plan.print", "plan.export"}),
    "plans:write": frozenset(
        {
            "plan.create",
            "plan.revise",
            "plan.hold",
            "plan.resume",
            "plan.discontinue",
            "plan.override",
            "plan.observe",
            "refill.record",
            "calendar_feed.manage",
        }
    ),
    # protocol.read too (API.md §5.6): a client that previews plans may learn which protocol
    # versions the engine uses. The one operation two scopes grant (protocols:write also does).
    "plans:preview": frozenset({"plan.preview", "refill.calculate", "protocol.read"}),
    "plans:review": frozenset({"plan.review"}),
    # Four eyes (issue 17): drafting and approving a protocol are separate scopes, and no
    # author approves their own draft whatever their scopes.
    "protocols:write": frozenset({"protocol.read", "protocol.draft"}),
    "protocols:approve": frozenset({"protocol.approve"}),
}

SCOPES: tuple[str, ...] = tuple(SCOPE_OPERATIONS)

_REFUSALS = {
    "patient": "Only prescribers register, edit or archive patients.",
    "plan": "Only prescribers create, revise, override, hold, resume or discontinue plans.",
}


class Refused(Forbidden):
    """Refused by the permission table or by a token's scopes. Carries who asked for what so
    that the error handler can audit every refusal (RELIABILITY A2)."""

    def __init__(
        self, actor: Actor, message: str, *, operation: str | None = None, scope: str | None = None
    ) -> None:
        super().__init__(message)
        self.actor = actor
        self.operation = operation
        self.scope = scope


# Printed documents and exports name the patient (name, MRN, birth date in FHIR, the
# summary, the schedules' running heads) or belong to one (the calendar): whoever takes them
# must also be allowed to read the patient. Every role that may print or export may; a token
# needs `patients:read` beside `plans:read` (issue 13).
CARRIES_IDENTITY = frozenset({"plan.print", "plan.export"})


# Clinics themselves are managed by system admins only (an explicit flag on an admin).
SYSTEM_ADMIN_ONLY = frozenset({"clinic.manage"})


def can(actor: Actor, operation: str) -> bool:
    allowed = _can(actor, operation)
    if allowed and operation in SYSTEM_ADMIN_ONLY and actor.kind == "user":
        return actor.system_admin
    if allowed and operation in CARRIES_IDENTITY:
        return _can(actor, "patient.read")
    return allowed


def _can(actor: Actor, operation: str) -> bool:
    if operation not in OPERATIONS:
        raise KeyError(f"unknown operation {operation!r}")  # a typo must not read as "denied"
    if actor.kind == "system":
        return True
    if actor.kind == "user":
        return actor.role in OPERATIONS[operation]
    if actor.kind == "token":
        return any(operation in SCOPE_OPERATIONS.get(scope, ()) for scope in actor.scopes)
    return False


def require(actor: Actor, operation: str) -> None:
    """Raise Forbidden unless the actor may perform the operation (checked before any read)."""
    if not can(actor, operation):
        raise Refused(actor, refusal_message(operation), operation=operation)


def refusal_message(operation: str) -> str:
    allowed = OPERATIONS[operation]
    if allowed == frozenset({PRESCRIBER}):
        return _REFUSALS.get(operation.split(".")[0], "Only prescribers may do this.")
    roles = " or ".join(sorted(allowed))
    return f"Your role may not do this ({operation}); it needs: {roles}."


def admin_scope(actor: Actor) -> int | None:
    """The clinic whose users and tokens an admin administers; None (all) for the system and
    for system admins."""
    if actor.kind == "system" or actor.system_admin:
        return None
    if actor.clinic_id is None:
        raise Forbidden("This account belongs to no clinic.")
    return actor.clinic_id


def clinic_scope(actor: Actor) -> int | None:
    """The clinic whose records the actor may see; None (every clinic) only for the system.

    A person or client without a clinic is refused rather than shown everything.
    """
    if actor.kind == "system":
        return actor.clinic_id
    if actor.clinic_id is None:
        raise Forbidden("This account belongs to no clinic.")
    return actor.clinic_id


def record_refusal(session: Session, refusal: Refused, *, method: str, path: str) -> None:
    """One audit row per refusal, in a transaction of its own (the refused call wrote nothing).
    The path holds record ids only, never a query string."""
    audit.record(
        session,
        refusal.actor,
        AuditEntry(
            "access.denied",
            "operation" if refusal.operation else "scope",
            refusal.operation or refusal.scope,
            detail={"method": method, "path": path[:200]},
            outcome="failure",
        ),
    )
    session.commit()
